"""The outage lifecycle: declare, correct, end, decide a long outage's policy, confirm, dismiss, list."""
from datetime import timedelta

from sqlalchemy import select

from sync import rules
from sync.errors import Conflict, InvalidInput, NotFound, OutOfScope

from ..extensions import db
from ..models import Unit, utcnow
from .evaluation import evaluate, refresh
from .evidence import propose_from_device_failures
from .facts import outage_facts, rule_settings
from .models import Outage
from .notices import notify, staff


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
    if kind == rules.PLANNED and data.get("ended_at") is not None:
        raise InvalidInput("Ett planerat driftstopp avslutas när det är över.",
                           errors={"ended_at": ["Anges med 'avsluta' när driftstoppet är över."]})
    if kind == rules.UNPLANNED and data.get("announced_policy") is not None:
        raise InvalidInput("Bara planerade driftstopp har en meddelad policy.",
                           errors={"announced_policy": ["Endast för planerade driftstopp."]})
    _check_times(data["started_at"], data.get("ended_at"), data.get("expected_end"))
    _check_unit_exists(data.get("discovered_by_unit_id"), "discovered_by_unit_id")
    outage = Outage(kind=kind, status="confirmed", title=data.get("title") or _default_title(kind),
                    description=data.get("description"), started_at=data["started_at"],
                    ended_at=data.get("ended_at"), expected_end=data.get("expected_end"),
                    announced_at=now if kind == rules.PLANNED else None,
                    announced_policy=_policy(data.get("announced_policy")),
                    reporter_name=data.get("reporter_name"), discovered_by_unit_id=data.get("discovered_by_unit_id"),
                    fault_type=data.get("fault_type"), created_by=user.id, created_at=now, updated_at=now)
    outage.units = units
    db.session.add(outage)
    db.session.flush()
    people = staff([u.id for u in units])
    if kind == rules.PLANNED:
        notify("outage_announced", people, {"starts_at": outage.started_at,
                                           "ends_at": outage.expected_end or outage.started_at},
               dedupe_key=f"outage-{outage.id}-{outage.started_at.isoformat()}")
    elif outage.ended_at is None:
        notify("outage_started", people, dedupe_key=f"outage-{outage.id}")
    evaluate(outage, now, "declared")
    return outage


def update_outage(user, outage, data, now):
    """Correct or extend an outage; every gap is decided again with the new facts."""
    if outage.status == "dismissed":
        raise Conflict("Driftstoppet är avfärdat.", code="outage_dismissed")
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
    for name in ("started_at", "ended_at", "expected_end"):
        if name in data:
            setattr(outage, name, data[name])
    _check_times(outage.started_at, outage.ended_at, outage.expected_end)
    outage.updated_at = now
    db.session.flush()
    evaluate(outage, now, "outage_updated")
    return outage


def end_outage(user, outage, ended_at, now):
    if outage.status != "confirmed":
        raise Conflict("Bara bekräftade driftstopp kan avslutas.", code="outage_not_confirmed")
    if outage.ended_at is not None:
        raise Conflict("Driftstoppet är redan avslutat.", code="outage_already_ended")
    ended_at = ended_at or now
    if ended_at > now + timedelta(minutes=5):
        raise InvalidInput("Sluttiden kan inte ligga i framtiden.", errors={"ended_at": ["I framtiden."]})
    _check_times(outage.started_at, ended_at, None)
    outage.ended_at, outage.updated_at = ended_at, now
    db.session.flush()
    notify("outage_ended", staff([u.id for u in outage.units]), dedupe_key=f"outage-{outage.id}")
    evaluate(outage, now, "outage_ended")
    return outage


def decide_policy(user, outage, data, now):
    """Rule 5: a manager chooses how a long outage is post-registered; everyone affected sees the result."""
    if outage.status != "confirmed":
        raise Conflict("Driftstoppet är inte bekräftat.", code="outage_not_confirmed")
    policy = rules.Policy.from_dict(data)
    if policy.deadline is not None and policy.deadline <= now:
        raise InvalidInput("Sista dag måste ligga i framtiden.", errors={"deadline": ["Har redan passerat."]})
    outage.decided_policy = policy.to_dict()
    outage.decided_by, outage.decided_at, outage.updated_at = user.id, now, now
    db.session.flush()
    evaluate(outage, now, "policy_decided")
    return outage


def confirm_outage(user, outage, now):
    if outage.status != "proposed":
        raise Conflict("Bara förslag kan bekräftas.", code="not_a_proposal")
    outage.status, outage.created_by, outage.updated_at = "confirmed", user.id, now
    db.session.flush()
    evaluate(outage, now, "confirmed")
    return outage


def dismiss_outage(user, outage, reason, now):
    """Dismiss a proposal, or call off a planned outage that has not begun (the announcement was wrong)."""
    called_off = outage.status == "confirmed" and outage.kind == rules.PLANNED and outage.started_at > now
    if outage.status != "proposed" and not called_off:
        raise Conflict("Bara förslag och planerade driftstopp som inte har börjat kan avfärdas.",
                       code="not_a_proposal")
    outage.status, outage.dismissed_reason, outage.updated_at = "dismissed", reason, now
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


def _check_times(started_at, ended_at, expected_end):
    if ended_at is not None and ended_at < started_at:
        raise InvalidInput("Driftstoppet kan inte sluta innan det började.", errors={"ended_at": ["Före starttiden."]})
    if expected_end is not None and expected_end < started_at:
        raise InvalidInput("Beräknat slut ligger före starten.", errors={"expected_end": ["Före starttiden."]})


def _policy(data):
    return rules.Policy.from_dict(data).to_dict() if data else None


def _default_title(kind):
    return "Planerat driftstopp" if kind == rules.PLANNED else "Oplanerat driftstopp"
