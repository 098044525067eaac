"""The outage lifecycle: declare (ahead, while it runs, or afterwards), correct, end, decide a long outage's
policy, confirm or dismiss a proposal, withdraw one registered by mistake, list.

Overlap: a new outage whose known time overlaps a confirmed outage of the same unit is refused with the first
one named, because it is almost always the same downtime entered twice (two administrators, or a proposal and
a hand-made entry) — and merging them silently would have to choose between two kinds, two reporters and two
policies. Visits that still touch two outages (back to back, or a planned one beginning while an unplanned one
runs) are one gap all the same: see rules.covering_outage.
"""
from datetime import timedelta

from sqlalchemy import select

from sync import rules
from sync.rule_settings import Policy
from sync.errors import Conflict, InvalidInput, NotFound, OutOfScope
from sync.outages import known_window, windows_overlap

from ..extensions import db
from ..models import Unit, utcnow
from .evaluation import evaluate, evaluate_neighbours, record, refresh
from .evidence import propose_from_device_failures
from .facts import decision_of, outage_facts, rule_settings, tz
from .models import Gap, Outage
from .notices import notify, staff

CLOCK_TOLERANCE = timedelta(minutes=5)  # a time typed as "now" on a PC whose clock runs a little ahead
ENTRY_RANGE = timedelta(days=366)  # outages are entered up to a year afterwards, or announced up to a year ahead


def get_outage(user, outage_id) -> Outage:
    outage = db.session.get(Outage, outage_id)
    if outage is None:
        raise NotFound("Driftstoppet finns inte.")
    if user.unit_id not in {u.id for u in outage.units}:
        raise OutOfScope("Driftstoppet gäller inte din enhet.")
    return outage


def _units(user, unit_ids):
    unit_ids = sorted(set(unit_ids or [user.unit_id]))
    found = set(db.session.scalars(select(Unit.id).where(Unit.id.in_(unit_ids))))
    missing = [u for u in unit_ids if u not in found]
    if missing:
        raise InvalidInput("Okänd enhet.", errors={"unit_ids": [f"Enhet {u} finns inte." for u in missing]})
    if any(u != user.unit_id for u in unit_ids):
        raise OutOfScope("Du kan bara ange driftstopp för din egen enhet.")
    return [db.session.get(Unit, u) for u in unit_ids]


def create_outage(user, data, now):
    units = _units(user, data.get("unit_ids"))
    kind = data["kind"]
    if kind == rules.UNPLANNED and data.get("announced_policy") is not None:
        raise InvalidInput("Bara planerade driftstopp har en meddelad policy.",
                           errors={"announced_policy": ["Endast för planerade driftstopp."]})
    _check_times(kind, data["started_at"], data.get("ended_at"), data.get("expected_end"), now)
    _check_unit_exists(data.get("discovered_by_unit_id"), "discovered_by_unit_id")
    _check_no_overlap([u.id for u in units], data["started_at"], data.get("ended_at"), data.get("expected_end"), now)
    outage = Outage(kind=kind, status="confirmed", title=data.get("title") or _default_title(kind),
                    description=data.get("description"), started_at=data["started_at"],
                    ended_at=data.get("ended_at"), expected_end=data.get("expected_end"),
                    announced_at=now if kind == rules.PLANNED and data["started_at"] > now else None,
                    announced_policy=_policy(data.get("announced_policy")),
                    reporter_name=data.get("reporter_name"), discovered_by_unit_id=data.get("discovered_by_unit_id"),
                    fault_type=data.get("fault_type"), created_by=user.id, created_at=now, updated_at=now)
    outage.units = units
    db.session.add(outage)
    db.session.flush()
    _announce(outage, now)
    evaluate(outage, now, "declared")
    evaluate_neighbours(outage, now, "other_outage_changed")
    return outage


def _announce(outage, now):
    """Tell staff what they can act on: one coming (update your offline copy), one running (record in the app).
    An outage entered afterwards is over: nobody is told to prepare for it or that the system is back."""
    people = staff([u.id for u in outage.units])
    if outage.ended_at is not None:
        return
    if outage.started_at > now:
        if outage.expected_end is not None:
            notify("outage_announced", people, {"starts_at": outage.started_at, "ends_at": outage.expected_end},
                   dedupe_key=f"outage-{outage.id}-{outage.started_at.isoformat()}")
        else:
            notify("outage_announced_open", people, {"starts_at": outage.started_at},
                   dedupe_key=f"outage-{outage.id}-{outage.started_at.isoformat()}")
    else:
        notify("outage_started", people, dedupe_key=f"outage-{outage.id}")


def update_outage(user, outage, data, now):
    """Correct or extend an outage; every gap is decided again with the new facts."""
    if outage.status in ("dismissed", "withdrawn"):
        raise Conflict("Driftstoppet är avfärdat eller återkallat.", code=f"outage_{outage.status}")
    if "unit_ids" in data:
        outage.units = _units(user, data["unit_ids"])
    _check_unit_exists(data.get("discovered_by_unit_id"), "discovered_by_unit_id")
    for name in ("title", "description", "reporter_name", "fault_type", "discovered_by_unit_id"):
        if name in data:
            setattr(outage, name, data[name])
    if "announced_policy" in data:
        if outage.kind != rules.PLANNED:
            raise InvalidInput("Bara planerade driftstopp har en meddelad policy.",
                               errors={"announced_policy": ["Endast för planerade driftstopp."]})
        outage.announced_policy = _policy(data["announced_policy"])
    times = {name: data.get(name, getattr(outage, name)) for name in ("started_at", "ended_at", "expected_end")}
    if any(name in data for name in times) or "unit_ids" in data:
        _check_times(outage.kind, *times.values(), now)
        if outage.status == "confirmed":
            _check_no_overlap([u.id for u in outage.units], *times.values(), now, exclude=outage.id)
    for name, value in times.items():
        setattr(outage, name, value)
    outage.updated_at = now
    db.session.flush()
    evaluate(outage, now, "outage_updated")
    evaluate_neighbours(outage, now, "other_outage_changed")
    return outage


def end_outage(user, outage, ended_at, now):
    if outage.status != "confirmed":
        raise Conflict("Bara bekräftade driftstopp kan avslutas.", code="outage_not_confirmed")
    if outage.ended_at is not None:
        raise Conflict("Driftstoppet är redan avslutat.", code="outage_already_ended")
    ended_at = ended_at or now
    _check_times(outage.kind, outage.started_at, ended_at, None, now)
    outage.ended_at, outage.updated_at = ended_at, now
    db.session.flush()
    notify("outage_ended", staff([u.id for u in outage.units]), dedupe_key=f"outage-{outage.id}")
    evaluate(outage, now, "outage_ended")
    return outage


def decide_policy(user, outage, data, now):
    """Rule 5: a manager chooses how a long outage is post-registered; everyone affected sees the result."""
    if outage.status != "confirmed":
        raise Conflict("Driftstoppet är inte bekräftat.", code="outage_not_confirmed")
    policy = Policy.from_dict(data)
    if policy.deadline is not None and policy.deadline <= now:
        raise InvalidInput("Sista dag måste ligga i framtiden.", errors={"deadline": ["Har redan passerat."]})
    if policy.deadline is not None and policy.deadline > now + ENTRY_RANGE:
        raise InvalidInput("Sista dag ligger orimligt långt fram.", errors={"deadline": ["Högst ett år fram."]})
    outage.decided_policy = policy.to_dict()
    outage.decided_by, outage.decided_at, outage.updated_at = user.id, now, now
    db.session.flush()
    evaluate(outage, now, "policy_decided")
    return outage


def confirm_outage(user, outage, now):
    if outage.status != "proposed":
        raise Conflict("Bara förslag kan bekräftas.", code="not_a_proposal")
    _check_no_overlap([u.id for u in outage.units], outage.started_at, outage.ended_at, outage.expected_end, now,
                      exclude=outage.id)
    outage.status, outage.created_by, outage.updated_at = "confirmed", user.id, now
    db.session.flush()
    evaluate(outage, now, "confirmed")
    evaluate_neighbours(outage, now, "other_outage_changed")
    return outage


def dismiss_outage(user, outage, reason, now):
    """Dismiss a proposal, or call off a planned outage that has not begun (the announcement was wrong)."""
    called_off = outage.status == "confirmed" and outage.kind == rules.PLANNED and outage.started_at > now
    if outage.status != "proposed" and not called_off:
        raise Conflict("Bara förslag och planerade driftstopp som inte har börjat kan avfärdas.",
                       code="not_a_proposal")
    outage.status, outage.dismissed_reason, outage.updated_at = "dismissed", reason, now
    return outage


def withdraw_outage(user, outage, reason, now):
    """An outage registered by mistake: kept, with who withdrew it, when and why (never deleted); each open gap
    is closed with that decision in its history; staff told it is coming or running are told it is not."""
    if outage.status != "confirmed":
        raise Conflict("Bara bekräftade driftstopp kan återkallas; ett förslag avfärdas.", code="outage_not_confirmed")
    outage.status, outage.updated_at = "withdrawn", now
    outage.withdrawn_by, outage.withdrawn_at, outage.withdrawn_reason = user.id, now, reason
    closing = rules.withdrawn(outage.id, reason, now)
    for gap in db.session.scalars(select(Gap).where(Gap.outage_id == outage.id, Gap.state == rules.STATE_OPEN)
                                  .with_for_update()):
        record(gap, decision_of(gap), closing, "outage_withdrawn", now)
    if outage.ended_at is None:
        notify("outage_withdrawn", staff([u.id for u in outage.units]), dedupe_key=f"outage-{outage.id}-withdrawn")
    db.session.flush()
    evaluate_neighbours(outage, now, "other_outage_changed")  # a visit it held may belong to another outage
    return outage


def list_outages(user, status=None, needs_decision=None, now=None):
    now = now or utcnow()
    if status in (None, "proposed"):
        propose_from_device_failures(now)
    refresh([user.unit_id], now)
    query = select(Outage).join(Outage.units).where(Unit.id == user.unit_id)
    if status:
        query = query.where(Outage.status == status)
    outages = list(db.session.scalars(query.order_by(Outage.started_at.desc())))
    if needs_decision is not None:
        settings = rule_settings()
        outages = [o for o in outages if o.status == "confirmed" and
                   rules.assess_outage(outage_facts(o), settings.for_unit(user.unit_id), now).needs_decision
                   == needs_decision]
    return outages


def _check_unit_exists(unit_id, name):
    if unit_id is not None and db.session.get(Unit, unit_id) is None:
        raise InvalidInput("Okänd enhet.", errors={name: ["Enheten finns inte."]})


def _check_times(kind, started_at, ended_at, expected_end, now):
    """Times an outage can have: an unplanned one has begun (one that starts later is planned); an end is in
    the past (one not yet reached is the expected end); nothing more than a year away from today."""
    if kind == rules.UNPLANNED and started_at > now + CLOCK_TOLERANCE:
        raise InvalidInput("Ett oplanerat driftstopp kan inte börja i framtiden – lägg in ett kommande driftstopp "
                           "som planerat.", errors={"started_at": ["I framtiden: ett kommande driftstopp är planerat."]})
    if not now - ENTRY_RANGE <= started_at <= now + ENTRY_RANGE:
        raise InvalidInput("Starten ligger mer än ett år från i dag.", errors={"started_at": ["Högst ett år bort."]})
    if ended_at is not None and ended_at > now + CLOCK_TOLERANCE:
        raise InvalidInput("Sluttiden kan inte ligga i framtiden; ange beräknat slut i stället.",
                           errors={"ended_at": ["I framtiden."]})
    if ended_at is not None and ended_at < started_at:
        raise InvalidInput("Driftstoppet kan inte sluta innan det började.", errors={"ended_at": ["Före starttiden."]})
    if expected_end is not None and expected_end < started_at:
        raise InvalidInput("Beräknat slut ligger före starten.", errors={"expected_end": ["Före starttiden."]})
    if expected_end is not None and expected_end > started_at + ENTRY_RANGE:
        raise InvalidInput("Beräknat slut ligger orimligt långt fram.", errors={"expected_end": ["Högst ett år."]})


def _check_no_overlap(unit_ids, started_at, ended_at, expected_end, now, exclude=None):
    """Refuse a second confirmed outage over the same time of a unit, naming the first (see the module doc)."""
    mine = known_window(started_at, ended_at, expected_end, now)
    query = select(Outage).join(Outage.units).where(Unit.id.in_(unit_ids), Outage.status == "confirmed",
                                                    Outage.started_at < mine.end)
    if exclude is not None:
        query = query.where(Outage.id != exclude)
    for other in db.session.scalars(query.distinct().order_by(Outage.started_at)):
        if windows_overlap(mine, known_window(other.started_at, other.ended_at, other.expected_end, now)):
            zone = tz()
            start = other.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            end = other.ended_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if other.ended_at else "pågår"
            message = (f"Enheten har redan ett driftstopp under den tiden: nr {other.id} ”{other.title}” "
                       f"({start} – {end}). Ändra det i stället för att lägga in ett till – ett missat besök "
                       f"ska bara bli en lucka.")
            raise Conflict(message, code="outage_overlaps",
                           errors={"started_at": [f"Överlappar driftstopp nr {other.id}."]})


def _policy(data):
    return Policy.from_dict(data).to_dict() if data else None


def _default_title(kind):
    return "Planerat driftstopp" if kind == rules.PLANNED else "Oplanerat driftstopp"
