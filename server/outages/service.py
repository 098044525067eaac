"""Service layer of the outage area: turns rows into `sync.rules` facts, stores each new decision with its
history, and does the administrators' and managers' work (backfill, conflicts, quarantine, lock dates).

Every function works in the caller's transaction (`db.session`) and leaves the commit to the caller, so a
decision, the fact that caused it and the notifications it triggers are stored together or not at all.
"""
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Integer, and_, bindparam, or_, select, text

from sync import conflicts as cf
from sync import events as ev
from sync import rules
from sync.errors import Conflict, InvalidInput, NotFound, OutOfScope
from sync.outages import EVIDENCE_FAILED_SYNCS, EVIDENCE_HEARTBEAT, DeviceFailure, failed_sync_proposals, \
    heartbeat_gap

from ..access_log import log_access
from ..dbutil import insert
from ..extensions import db
from ..models import Device, Event, QuarantinedEvent, Registration, Unit, User, Visit, utcnow, visit_workers
from .models import ConflictResolution, Gap, GapDecision, Heartbeat, Outage, UnitRuleSettings, WorkerAbsence

OPEN_LOOKBACK = timedelta(days=30)  # outages that ended longer ago than this are not re-evaluated by reads
DUTY_LOOKAHEAD = timedelta(days=21)  # how far after an outage we look for the worker's working days


# ---------------------------------------------------------------------------------------------- settings

def tz():
    return ZoneInfo(current_app.config["TIMEZONE"])


def rule_settings() -> rules.RuleSettings:
    """The configured defaults merged with every unit's stored overrides."""
    cfg = current_app.config
    base = {"timezone": cfg["TIMEZONE"], "threshold_minutes": cfg["OUTAGE_THRESHOLD_MINUTES"],
            "self_deadline_days": cfg["OUTAGE_SELF_DEADLINE_DAYS"], "admin_grace_days": cfg["OUTAGE_ADMIN_GRACE_DAYS"],
            "long_outage_policy": cfg["OUTAGE_LONG_POLICY"]}
    overrides = {row.unit_id: row.overrides for row in db.session.scalars(select(UnitRuleSettings))}
    return rules.RuleSettings.from_mapping(base, overrides)


def set_unit_rules(user, unit_id, overrides):
    _own_unit(user, unit_id)
    rule_settings().with_unit_override(unit_id, overrides)  # raises InvalidInput with field messages
    row = db.session.get(UnitRuleSettings, unit_id) or UnitRuleSettings(unit_id=unit_id)
    row.overrides, row.updated_by, row.updated_at = dict(overrides), user.id, utcnow()
    db.session.add(row)
    db.session.flush()
    for outage in _live_outages([unit_id], utcnow()):
        evaluate(outage, utcnow(), "rules_changed")
    return rule_settings().for_unit(unit_id)


# ---------------------------------------------------------------------------------------------- notifications

def notify(kind, recipients, data=None, dedupe_key=None):
    """The one door to Web Push (issue 6): enqueued in this transaction, delivered by the push worker."""
    from .. import notify as push
    if not recipients:
        return 0
    return push.enqueue(kind, recipients, data or {}, db.session, dedupe_key=dedupe_key)


def _recipients(group, unit_ids):
    from .. import notify as push
    ids = []
    for unit_id in unit_ids:
        ids += {"admins": push.admins_of, "managers": push.managers_of}[group](unit_id, db.session)
    return ids


# ---------------------------------------------------------------------------------------------- scope

def _own_unit(user, unit_id):
    if db.session.get(Unit, unit_id) is None:
        raise NotFound("Enheten finns inte.")
    if unit_id != user.unit_id:
        raise OutOfScope("Enheten är inte din.")


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


# ---------------------------------------------------------------------------------------------- facts

def outage_facts(outage: Outage) -> rules.OutageFacts:
    return rules.OutageFacts(id=outage.id, kind=outage.kind, started_at=outage.started_at, ended_at=outage.ended_at,
                             announced_policy=rules.Policy.from_dict(outage.announced_policy),
                             decided_policy=rules.Policy.from_dict(outage.decided_policy))


def _candidates(outage, now):
    """(visit, worker id) pairs of the outage's units whose visit overlaps the window, plus existing gaps."""
    unit_ids = [u.id for u in outage.units]
    end = outage.ended_at or now
    rows = db.session.execute(
        select(Visit, visit_workers.c.worker_id).join(visit_workers, visit_workers.c.visit_id == Visit.id)
        .where(Visit.unit_id.in_(unit_ids), Visit.cancelled.is_(False), Visit.planned_start < end,
               Visit.planned_end > outage.started_at, Visit.planned_start <= now)).all()
    pairs = {(visit.id, worker_id): visit for visit, worker_id in rows}
    for gap in db.session.scalars(select(Gap).where(Gap.outage_id == outage.id)):
        pairs.setdefault((gap.visit_id, gap.worker_id), gap.visit)
    return pairs


def _gap_facts(outage, pairs, now, settings):
    """Build `GapFacts` for many pairs with a handful of queries."""
    if not pairs:
        return {}
    visit_ids = {v for v, _ in pairs}
    worker_ids = {w for _, w in pairs}
    regs = {(r.visit_id, r.worker_id): r for r in db.session.scalars(
        select(Registration).where(Registration.visit_id.in_(visit_ids), Registration.worker_id.in_(worker_ids)))}
    handed = set(db.session.execute(
        select(Event.visit_id, Event.user_id).where(Event.type == ev.GAP_HANDED_OVER, Event.visit_id.in_(visit_ids),
                                                    Event.user_id.in_(worker_ids))).all())
    zone = settings.tz
    after = outage.ended_at or now
    duty = {}
    for start, worker_id in db.session.execute(
            select(Visit.planned_start, visit_workers.c.worker_id).join(visit_workers,
                                                                        visit_workers.c.visit_id == Visit.id)
            .where(visit_workers.c.worker_id.in_(worker_ids), Visit.cancelled.is_(False),
                   Visit.planned_end > after, Visit.planned_start < after + DUTY_LOOKAHEAD)):
        duty.setdefault(worker_id, set()).add(start.astimezone(zone).date())
    absent = {}
    first_day = after.astimezone(zone).date() - timedelta(days=1)
    for worker_id, day in db.session.execute(
            select(WorkerAbsence.worker_id, WorkerAbsence.day).where(WorkerAbsence.worker_id.in_(worker_ids),
                                                                     WorkerAbsence.day >= first_day)):
        absent.setdefault(worker_id, set()).add(day)
    facts = {}
    for (visit_id, worker_id), visit in pairs.items():
        reg = regs.get((visit_id, worker_id))
        if reg is not None and reg.started_at and reg.ended_at:
            state = rules.REGISTRATION_COMPLETE
        elif reg is not None and (reg.started_at or reg.ended_at):
            state = rules.REGISTRATION_PARTIAL
        else:
            state = rules.REGISTRATION_NONE
        source = (reg.ended_source or reg.started_source) if reg is not None else None
        facts[(visit_id, worker_id)] = rules.GapFacts(
            visit_id=visit_id, worker_id=worker_id, unit_id=visit.unit_id, planned_start=visit.planned_start,
            planned_end=visit.planned_end, registration=state,
            registered_by=ev.SOURCE_BACKFILL if source == cf.SOURCE_RESOLUTION else source,
            handed_over=(visit_id, worker_id) in handed, duty_dates=frozenset(duty.get(worker_id, ())),
            absent_dates=frozenset(absent.get(worker_id, ())))
    return facts


def _decision_of(gap: Gap):
    return rules.Decision(state=gap.state, route=gap.route, deadline=gap.deadline, rule=gap.rule,
                          inputs=gap.inputs, explanation=gap.explanation, explanation_en=gap.explanation_en)


# ---------------------------------------------------------------------------------------------- evaluation

def evaluate(outage: Outage, now: datetime, trigger: str, only=None):
    """Rule 7: decide every gap of the outage again (or only the `(visit, worker)` pairs given), store the
    decisions that changed with their history, and tell people what changed for them."""
    if outage.status != "confirmed":
        return []
    settings = rule_settings()
    facts = outage_facts(outage)
    pairs = _candidates(outage, now)
    if only is not None:
        pairs = {k: v for k, v in pairs.items() if k in only}
    gap_facts = _gap_facts(outage, pairs, now, settings)
    # Row locks (PostgreSQL) make concurrent evaluations of one outage — a request and the clock, say — take
    # turns, so a change is decided and written to the history once.
    existing = {(g.visit_id, g.worker_id): g for g in db.session.scalars(
        select(Gap).where(Gap.outage_id == outage.id).with_for_update())}
    changes = []
    for key, gfacts in gap_facts.items():
        gap = existing.get(key)
        previous = _decision_of(gap) if gap is not None else None
        decision = rules.decide(facts, gfacts, settings, now)
        if decision.same_as(previous):
            if gap.explanation != decision.explanation:  # same decision, new detail (e.g. a start synced)
                gap.explanation, gap.explanation_en = decision.explanation, decision.explanation_en
                gap.inputs = decision.inputs
            continue
        if gap is None and decision.state == rules.STATE_CLOSED:
            continue  # registered before it ever was a gap
        if gap is None:
            gap = _new_gap(outage.id, key, gfacts.unit_id, decision, now)
            if gap is None:  # another transaction created it a moment ago and decided the same
                continue
        gap.state, gap.route, gap.deadline, gap.rule = decision.state, decision.route, decision.deadline, decision.rule
        gap.explanation, gap.explanation_en, gap.inputs = decision.explanation, decision.explanation_en, decision.inputs
        gap.decided_at = now
        if previous is None or previous.deadline != decision.deadline:
            gap.reminded_at = None
        db.session.flush()
        db.session.add(GapDecision(gap_id=gap.id, state=decision.state, route=decision.route,
                                   deadline=decision.deadline, rule=decision.rule, explanation=decision.explanation,
                                   inputs=decision.inputs, trigger=trigger, decided_at=now))
        changes.append((gap, previous, decision))
    _tell_about(outage, facts, settings, changes, now)
    return changes


def _new_gap(outage_id, key, unit_id, decision, now):
    """Insert a gap once (ON CONFLICT DO NOTHING); if a concurrent evaluation won, use its row unless it already
    holds this decision."""
    from ..dbutil import insert
    values = dict(outage_id=outage_id, visit_id=key[0], worker_id=key[1], unit_id=unit_id, state=decision.state,
                  route=decision.route, deadline=decision.deadline, rule=decision.rule,
                  explanation=decision.explanation, explanation_en=decision.explanation_en, inputs=decision.inputs,
                  decided_at=now)
    db.session.execute(insert(Gap.__table__).values(**values)
                       .on_conflict_do_nothing(index_elements=["outage_id", "visit_id", "worker_id"]))
    gap = db.session.scalar(select(Gap).where(Gap.outage_id == outage_id, Gap.visit_id == key[0],
                                              Gap.worker_id == key[1]).with_for_update()
                            .execution_options(populate_existing=True))
    if db.session.scalar(select(GapDecision.id).where(GapDecision.gap_id == gap.id).limit(1)) is not None \
            and decision.same_as(_decision_of(gap)):
        return None
    return gap


def _tell_about(outage, facts, settings, changes, now):
    escalated = {}
    for gap, previous, decision in changes:
        if decision.route == rules.ROUTE_ADMIN and (previous is None or previous.route != rules.ROUTE_ADMIN):
            escalated[gap.unit_id] = escalated.get(gap.unit_id, 0) + 1
    for unit_id, count in escalated.items():
        notify("gap_escalated", _recipients("admins", [unit_id]), {"count": count})
    if outage.threshold_notified_at is None and facts.kind == rules.UNPLANNED:
        waiting = [u.id for u in outage.units
                   if rules.assess_outage(facts, settings.for_unit(u.id), now).needs_decision]
        if waiting:
            hours = int(settings.for_unit(waiting[0]).threshold.total_seconds() // 3600)
            notify("threshold_crossed", _recipients("managers", waiting), {"hours": hours},
                   dedupe_key=f"outage-{outage.id}")
            outage.threshold_notified_at = now


def _live_outages(unit_ids, now):
    return list(db.session.scalars(
        select(Outage).join(Outage.units).where(
            Outage.status == "confirmed", Unit.id.in_(list(unit_ids)),
            or_(Outage.ended_at.is_(None), Outage.ended_at >= now - OPEN_LOOKBACK)).distinct().order_by(Outage.id)))


def refresh(unit_ids, now, trigger="read"):
    """Re-evaluate the live outages of these units (reads call it, so time-driven changes show at once)."""
    for outage in _live_outages(unit_ids, now):
        evaluate(outage, now, trigger)


# Asked on every push with visit events, so plain SQL (a Core select cost twice as much to build and run).
_GAPS_OF_VISITS = text("SELECT outage_id, visit_id, worker_id FROM outage_gaps WHERE visit_id IN :visit_ids"
                       ).bindparams(bindparam("visit_ids", expanding=True, type_=Integer))


def on_events_applied(applied, facts=None):
    """Ingest hook for a stored batch (the projection already holds it): the gaps the batch touches (read
    by the push's facts query when it has them — `facts.gaps` — else one query), and each touched outage
    is evaluated once per trigger, for those pairs only. A pair's trigger is its last event that can change
    a decision (start, end, hand-over), else its last event."""
    last_type = {}
    for _seq, event, user in applied:
        if event.type in ev.VISIT_EVENTS:
            pair = (event.payload.get("visit_id"), user.id)
            if event.type != ev.INTERVENTION_RECORDED or last_type.get(pair, event.type) == event.type:
                last_type[pair] = event.type
    if not last_type:
        return
    touched = {}
    gaps = facts.gaps if facts is not None else \
        db.session.execute(_GAPS_OF_VISITS, {"visit_ids": sorted({v for v, _ in last_type})})
    for outage_id, visit_id, worker_id in gaps:
        if (visit_id, worker_id) in last_type:
            touched.setdefault((outage_id, last_type[(visit_id, worker_id)]), set()).add((visit_id, worker_id))
    now = utcnow()
    for (outage_id, event_type), pairs in sorted(touched.items()):
        evaluate(db.session.get(Outage, outage_id), now, f"event:{event_type}", only=pairs)



def tick(now=None):
    """What the clock alone changes: deadlines pass, ongoing outages cross the threshold, reminders fall due."""
    now = now or utcnow()
    units = db.session.scalars(select(Unit.id)).all()
    refresh(units, now, "clock")
    soon = db.session.scalars(select(Gap).where(Gap.state == rules.STATE_OPEN, Gap.route == rules.ROUTE_SELF,
                                                Gap.reminded_at.is_(None), Gap.deadline.is_not(None),
                                                Gap.deadline > now, Gap.deadline <= now + timedelta(hours=24))).all()
    by_worker = {}
    for gap in soon:
        by_worker.setdefault(gap.worker_id, []).append(gap)
    for worker_id, gaps in by_worker.items():
        deadline = min(g.deadline for g in gaps)
        notify("deadline_today", [worker_id], {"count": len(gaps), "deadline": deadline - timedelta(minutes=1)},
               dedupe_key=f"deadline-{deadline.isoformat()}")
        for gap in gaps:
            gap.reminded_at = now
    return len(soon)


# ---------------------------------------------------------------------------------------------- outages

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
    staff = _staff([u.id for u in units])
    if kind == rules.PLANNED:
        notify("outage_announced", staff, {"starts_at": outage.started_at,
                                           "ends_at": outage.expected_end or outage.started_at},
               dedupe_key=f"outage-{outage.id}-{outage.started_at.isoformat()}")
    elif outage.ended_at is None:
        notify("outage_started", staff, dedupe_key=f"outage-{outage.id}")
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
    notify("outage_ended", _staff([u.id for u in outage.units]), dedupe_key=f"outage-{outage.id}")
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


def assessment(outage, user, now):
    settings = rule_settings()
    unit_rules = settings.for_unit(user.unit_id)
    return rules.assess_outage(outage_facts(outage), unit_rules, now), unit_rules


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


def _staff(unit_ids):
    from .. import notify as push
    return push.staff_of(unit_ids, db.session)


# ---------------------------------------------------------------------------------------------- evidence

def heartbeat(now=None, name="web"):
    """Write the server's pulse; on the first beat after a silence, propose the silence as an outage."""
    now = now or utcnow()
    cfg = current_app.config
    # Every server process beats under the same name: the first insert wins, and the row lock makes a
    # second process wait and then see the fresh beat, so one silence is proposed once, not per worker.
    db.session.execute(insert(Heartbeat.__table__).values(name=name, beat_at=now)
                       .on_conflict_do_nothing(index_elements=["name"]))
    row = db.session.execute(select(Heartbeat).where(Heartbeat.name == name).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    gap = heartbeat_gap(row.beat_at, now, timedelta(seconds=cfg["OUTAGE_HEARTBEAT_MAX_SILENCE"]))
    proposal = None
    if gap is not None:
        unit_ids = db.session.scalars(select(Unit.id).order_by(Unit.id)).all()
        proposal = _propose(unit_ids, gap.start, gap.end, {"kind": EVIDENCE_HEARTBEAT, "last_beat": gap.start.isoformat(),
                                                          "next_beat": gap.end.isoformat()}, "technical")
    row.beat_at = max(row.beat_at, now)
    return proposal


def propose_from_device_failures(now):
    """Windows in which several devices of a unit reported failed syncs become proposals (once each)."""
    cfg = current_app.config
    since = now - timedelta(hours=cfg["OUTAGE_EVIDENCE_LOOKBACK_HOURS"])
    failures = []
    for device in db.session.scalars(select(Device).where(Device.status_reported_at >= since,
                                                          Device.status_extra.is_not(None))):
        extra = device.status_extra or {}
        if not extra.get("failed_syncs") or not extra.get("last_failed_sync_at"):
            continue
        last = datetime.fromisoformat(extra["last_failed_sync_at"]).astimezone(timezone.utc)
        first = device.status_oldest_pending_at or last
        failures.append(DeviceFailure(device.id, device.unit_id, min(first, last), last))
    made = []
    for p in failed_sync_proposals(failures, cfg["OUTAGE_EVIDENCE_MIN_DEVICES"]):
        outage = _propose([p.unit_id], p.window.start, p.window.end,
                          {"kind": EVIDENCE_FAILED_SYNCS, "devices": len(p.device_ids)}, "network")
        if outage is not None:
            made.append(outage)
    return made


def _propose(unit_ids, start, end, evidence, fault_type):
    """A proposed outage, unless one (of any status) already covers this window for these units."""
    overlapping = db.session.scalar(
        select(Outage.id).join(Outage.units).where(
            Unit.id.in_(unit_ids), Outage.started_at < end,
            or_(Outage.ended_at.is_(None), Outage.ended_at > start)).limit(1))
    if overlapping is not None or not unit_ids:
        return None
    outage = Outage(kind=rules.UNPLANNED, status="proposed", title="Föreslaget driftstopp", started_at=start,
                    ended_at=end, evidence=evidence, fault_type=fault_type, created_at=utcnow(), updated_at=utcnow())
    outage.units = [db.session.get(Unit, u) for u in unit_ids]
    db.session.add(outage)
    db.session.flush()
    return outage


# ---------------------------------------------------------------------------------------------- gaps

def gaps_of(outage, user, route=None, state=None):
    query = select(Gap).where(Gap.outage_id == outage.id, Gap.unit_id == user.unit_id)
    if route:
        query = query.where(Gap.route == route)
    if state:
        query = query.where(Gap.state == state)
    query = query.join(Visit, Visit.id == Gap.visit_id)
    return list(db.session.scalars(query.order_by(Gap.deadline.is_(None), Gap.deadline, Visit.planned_start,
                                                  Gap.worker_id)))


def get_gap(user, gap_id):
    gap = db.session.get(Gap, gap_id)
    if gap is None:
        raise NotFound("Luckan finns inte.")
    if gap.unit_id != user.unit_id or (user.role == "worker" and gap.worker_id != user.id):
        raise OutOfScope("Luckan hör inte till dig.")
    return gap


def history(gap):
    return list(db.session.scalars(select(GapDecision).where(GapDecision.gap_id == gap.id).order_by(GapDecision.id)))


def backfill_queue(user, now, outage_id=None, worker_id=None, overdue=None, route=rules.ROUTE_ADMIN):
    """The unit's open gaps for the administrators, most urgent first."""
    refresh([user.unit_id], now)
    query = select(Gap).join(Outage, Outage.id == Gap.outage_id).where(
        Gap.unit_id == user.unit_id, Gap.state == rules.STATE_OPEN, Outage.status == "confirmed")
    if route != "all":
        query = query.where(Gap.route == route)
    if outage_id:
        query = query.where(Gap.outage_id == outage_id)
    if worker_id:
        query = query.where(Gap.worker_id == worker_id)
    if overdue is True:
        query = query.where(Gap.deadline.is_not(None), Gap.deadline <= now)
    query = query.join(Visit, Visit.id == Gap.visit_id)
    return list(db.session.scalars(query.order_by(Gap.deadline.is_(None), Gap.deadline, Visit.planned_start,
                                                  Gap.worker_id)))


def my_gaps(user, now):
    """The worker's own gaps ("Att efterregistrera"): open ones, and those closed in the last day."""
    refresh([user.unit_id], now)
    gaps = db.session.scalars(select(Gap).join(Outage, Outage.id == Gap.outage_id).where(
        Gap.worker_id == user.id, Outage.status == "confirmed",
        or_(Gap.state == rules.STATE_OPEN, Gap.decided_at >= now - timedelta(days=1)))
        .join(Visit, Visit.id == Gap.visit_id)
        .order_by(Gap.state.desc(), Gap.deadline.is_(None), Gap.deadline, Visit.planned_start)).all()
    for client_id in sorted({g.visit.client_id for g in gaps}):
        log_access(user, client_id, "post_registration_list")
    return gaps


# ---------------------------------------------------------------------------------------------- absences

def mark_absent(user, worker_id, first, last, reason, now):
    worker = db.session.get(User, worker_id)
    if worker is None or worker.role != "worker":
        raise NotFound("Medarbetaren finns inte.")
    if worker.unit_id != user.unit_id:
        raise OutOfScope("Medarbetaren hör till en annan enhet.")
    if last < first or (last - first).days > 366:
        raise InvalidInput("Ogiltig period.", errors={"to": ["Måste vara samma dag eller senare, högst ett år."]})
    rows = []
    day = first
    while day <= last:
        row = db.session.scalar(select(WorkerAbsence).where(WorkerAbsence.worker_id == worker_id,
                                                            WorkerAbsence.day == day))
        if row is None:
            row = WorkerAbsence(worker_id=worker_id, unit_id=worker.unit_id, day=day, reason=reason,
                                marked_by=user.id, marked_at=now)
            db.session.add(row)
        rows.append(row)
        day += timedelta(days=1)
    db.session.flush()
    _reevaluate_worker(worker, now, "worker_absent")
    return rows


def remove_absence(user, absence_id, now):
    row = db.session.get(WorkerAbsence, absence_id)
    if row is None:
        raise NotFound("Frånvaron finns inte.")
    if row.unit_id != user.unit_id:
        raise OutOfScope("Frånvaron hör till en annan enhet.")
    worker = db.session.get(User, row.worker_id)
    db.session.delete(row)
    db.session.flush()
    _reevaluate_worker(worker, now, "absence_removed")


def absences(user, first=None, last=None):
    query = select(WorkerAbsence).where(WorkerAbsence.unit_id == user.unit_id)
    if first:
        query = query.where(WorkerAbsence.day >= first)
    if last:
        query = query.where(WorkerAbsence.day <= last)
    return list(db.session.scalars(query.order_by(WorkerAbsence.day, WorkerAbsence.worker_id)))


def _reevaluate_worker(worker, now, trigger):
    for outage in _live_outages([worker.unit_id], now):
        pairs = {k for k in _candidates(outage, now) if k[1] == worker.id}
        if pairs:
            evaluate(outage, now, trigger, only=pairs)


# ---------------------------------------------------------------------------------------------- lock date

def set_lock_date(user, unit_id, lock_date):
    _own_unit(user, unit_id)
    unit = db.session.get(Unit, unit_id)
    unit.lock_date = lock_date
    return unit


def _check_lock(unit_id, moment):
    lock = db.session.scalar(select(Unit.lock_date).where(Unit.id == unit_id))
    if lock is not None and moment.astimezone(tz()).date() < lock:
        raise Conflict(f"Perioden före spärrdatum {lock.isoformat()} är låst.", code="before_lock_date")


# ---------------------------------------------------------------------------------------------- backfill

def _store(event, raw, worker, unit_id, source, recorded_by, device_id=None, skew=0.0, flagged=False):
    from ..ingest import store_event
    return store_event(event, raw, user=worker, unit_id=unit_id, device_id=device_id, source=source, skew=skew,
                       flagged=flagged, recorded_by=recorded_by)


def _iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def backfill(admin, data, now):
    """Register a visit on behalf of a worker (from a paper form, a phone call …): stored as events with
    source `backfill` in the same log, with who entered it, when, for whom and from what information."""
    visit = db.session.get(Visit, data["visit_id"])
    if visit is None:
        raise NotFound("Besöket finns inte.")
    if visit.unit_id != admin.unit_id:
        raise OutOfScope("Besöket hör till en annan enhet.")
    worker = db.session.get(User, data["worker_id"])
    if worker is None or worker.id not in {w.id for w in visit.workers}:
        raise InvalidInput("Medarbetaren är inte schemalagd på besöket.",
                           errors={"worker_id": ["Inte schemalagd på besöket."]})
    started, ended = data.get("started_at"), data.get("ended_at")
    if started is None and ended is None and not data.get("interventions"):
        raise InvalidInput("Ange minst start, slut eller en insats.", errors={"started_at": ["Saknas."]})
    if started and ended and ended < started:
        raise InvalidInput("Slut före start.", errors={"ended_at": ["Före starttiden."]})
    for moment in (started, ended):
        if moment is not None and moment > now + timedelta(minutes=5):
            raise InvalidInput("Tiden ligger i framtiden.", errors={"started_at": ["I framtiden."]})
    planned = {i.id for i in visit.interventions}
    errors = {f"interventions.{n}.intervention_id": ["Inte planerad för besöket."]
              for n, item in enumerate(data.get("interventions") or []) if item["intervention_id"] not in planned}
    if errors:
        raise InvalidInput("Insatsen är inte planerad för besöket.", errors=errors)
    _check_lock(visit.unit_id, started or ended or visit.planned_start)
    if data.get("outage_id") is not None:
        get_outage(admin, data["outage_id"])  # 404 / 403: the reference must be one of the unit's outages
    base = data.get("request_id") or uuid.uuid4()
    meta = {"information_source": data["information_source"], "note": data.get("note"), "recorded_by": admin.id,
            "on_behalf_of": worker.id, "outage_id": data.get("outage_id"), "entered_at": _iso(now)}
    items = []
    if started:
        items.append((ev.VISIT_STARTED, "started", {"visit_id": visit.id, "at": started}))
    if ended:
        items.append((ev.VISIT_ENDED, "ended", {"visit_id": visit.id, "at": ended}))
    for item in data.get("interventions") or []:
        payload = {"visit_id": visit.id, "intervention_id": item["intervention_id"], "status": item["status"]}
        for name in ("reason", "comment"):
            if item.get(name):
                payload[name] = item[name]
        items.append((ev.INTERVENTION_RECORDED, f"intervention-{item['intervention_id']}", payload))
    stored, duplicates = [], 0
    for event_type, name, payload in items:
        payload = {**payload, "post_registration": True, "backfill": meta}
        event_id = str(uuid.uuid5(uuid.UUID(str(base)), name))
        raw = {"id": event_id, "type": event_type, "occurred_at": _iso(now), "device_seq": 0,
               "payload": {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in payload.items()}}
        seq = _store(ev.Event(event_id, event_type, now, 0, payload), raw, worker, visit.unit_id,
                     ev.SOURCE_BACKFILL, admin.id)
        duplicates += seq is None
        stored.append(event_id)
    log_access(admin, visit.client_id, "backfill")
    _reevaluate_pair(visit, worker, now, "backfill")
    return {"event_ids": stored, "duplicate": duplicates == len(items)}


def _reevaluate_pair(visit, worker, now, trigger):
    for outage in _live_outages([visit.unit_id], now):
        evaluate(outage, now, trigger, only={(visit.id, worker.id)})


# ---------------------------------------------------------------------------------------------- conflicts

def _recorded(row):
    p = row.payload
    if row.type == ev.INTERVENTION_RECORDED:
        field = cf.intervention_field(p["intervention_id"])
        value = {"status": p.get("status"), "reason": p.get("reason"), "comment": p.get("comment")}
    else:
        field = cf.FIELD_OF_TYPE[row.type]
        value = datetime.fromisoformat(p["at"]).astimezone(timezone.utc) if p.get("at") else row.occurred_at_corrected
    from sync.projection import rank_key
    return cf.Recorded(field, value, row.source, row.id, rank_key(row.source, row.occurred_at_corrected, row.id),
                       recorded_by=row.recorded_by, received_at=row.received_at)


def conflicts(user, state="open", visit_id=None, worker_id=None):
    """Backfill-versus-device conflicts of the unit, per visit and worker, with the effective record."""
    pairs = select(Event.visit_id, Event.user_id).where(Event.unit_id == user.unit_id,
                                                        Event.source == ev.SOURCE_BACKFILL).distinct()
    if visit_id:
        pairs = pairs.where(Event.visit_id == visit_id)
    if worker_id:
        pairs = pairs.where(Event.user_id == worker_id)
    pairs = db.session.execute(pairs).all()
    if not pairs:
        return []
    rows = db.session.scalars(select(Event).where(
        Event.type.in_((ev.VISIT_STARTED, ev.VISIT_ENDED, ev.INTERVENTION_RECORDED)),
        or_(*[and_(Event.visit_id == v, Event.user_id == w) for v, w in pairs])).order_by(Event.seq)).all()
    by_pair = {}
    for row in rows:
        by_pair.setdefault((row.visit_id, row.user_id), []).append(_recorded(row))
    confirmed = {}
    for res in db.session.scalars(select(ConflictResolution).where(ConflictResolution.unit_id == user.unit_id)):
        confirmed.setdefault((res.visit_id, res.worker_id), set()).update(res.fields)
    out = []
    zone = tz()
    for (v, w), records in sorted(by_pair.items()):
        fields = cf.field_conflicts(records, confirmed.get((v, w), ()))
        if not fields:
            continue
        resolved = all(f.resolved or not f.differs for f in fields)
        if (state == "open" and resolved) or (state == "resolved" and not resolved):
            continue
        out.append({"visit_id": v, "worker_id": w, "resolved": resolved,
                    "fields": [{"field": f.field, "differs": f.differs, "resolved": f.resolved,
                                "effective_source": f.effective.source,
                                "device": _show(f.device), "backfill": _show(f.backfill),
                                "explanation": cf.explain(f, zone)} for f in fields]})
    return out


def _show(r: cf.Recorded):
    value = _iso(r.value) if isinstance(r.value, datetime) else r.value
    return {"event_id": r.event_id, "value": value, "source": r.source, "recorded_by": r.recorded_by,
            "received_at": _iso(r.received_at) if r.received_at else None}


def resolve_conflict(admin, visit_id, worker_id, effective, note, now):
    """Keep both records; `device` confirms the device record, `backfill` appends resolution records that
    carry the backfill's values and outrank the device record (the log stays the whole truth)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        raise NotFound("Besöket finns inte.")
    if visit.unit_id != admin.unit_id:
        raise OutOfScope("Besöket hör till en annan enhet.")
    [item] = conflicts(admin, "all", visit_id, worker_id) or [None]
    if item is None:
        raise NotFound("Det finns ingen konflikt för besöket och medarbetaren.")
    open_fields = [f for f in item["fields"] if f["differs"] and not f["resolved"]]
    if not open_fields:
        raise Conflict("Konflikten är redan avgjord.", code="already_resolved")
    worker = db.session.get(User, worker_id)
    if effective == "backfill":
        for f in open_fields:
            source = db.session.scalar(select(Event).where(Event.id == f["backfill"]["event_id"]))
            payload = {k: v for k, v in source.payload.items() if k != "backfill"}
            payload["resolution"] = {"chosen": "backfill", "backfill_event_id": source.id,
                                     "device_event_id": f["device"]["event_id"], "resolved_by": admin.id,
                                     "note": note}
            event_id = str(uuid.uuid5(uuid.UUID(str(uuid.uuid5(uuid.NAMESPACE_URL, source.id))), "resolution"))
            typed = dict(payload)
            if typed.get("at"):
                typed["at"] = datetime.fromisoformat(typed["at"])
            raw = {"id": event_id, "type": source.type, "occurred_at": _iso(now), "device_seq": 0, "payload": payload}
            _store(ev.Event(event_id, source.type, now, 0, typed), raw, worker, visit.unit_id, cf.SOURCE_RESOLUTION,
                   admin.id)
    db.session.add(ConflictResolution(visit_id=visit_id, worker_id=worker_id, unit_id=visit.unit_id,
                                      effective=effective, fields=[f["field"] for f in open_fields], note=note,
                                      resolved_by=admin.id, resolved_at=now))
    db.session.flush()
    [after] = conflicts(admin, "all", visit_id, worker_id)
    return after


# ---------------------------------------------------------------------------------------------- quarantine

def quarantine(user, state="open", code=None):
    query = select(QuarantinedEvent).where(QuarantinedEvent.unit_id == user.unit_id)
    if state != "all":
        query = query.where(QuarantinedEvent.state == state)
    if code:
        query = query.where(QuarantinedEvent.code == code)
    return list(db.session.scalars(query.order_by(QuarantinedEvent.received_at.desc())))


def _quarantined(user, qid):
    q = db.session.get(QuarantinedEvent, qid)
    if q is None:
        raise NotFound("Posten finns inte i karantänen.")
    if q.unit_id != user.unit_id:
        raise OutOfScope("Posten hör till en annan enhet.")
    if q.state != "open":
        raise Conflict("Posten är redan hanterad.", code="already_handled")
    return q


def reapply(admin, qid, corrections, note, now):
    """Correct a rejected record and put it into the books, after the same checks a sync makes."""
    from ..ingest import DbFacts, fingerprint, implausible_time
    from ..schemas import EventSchema
    q = _quarantined(admin, qid)
    original = dict(q.raw)
    raw = {**original, **{k: v for k, v in corrections.items() if k in ("occurred_at", "payload")}}
    if "payload" in corrections:
        raw["payload"] = {**(original.get("payload") or {}), **corrections["payload"]}
    raw["id"] = q.id
    cfg = current_app.config
    data = EventSchema().load(raw)  # ValidationError → 422 with field messages
    event = ev.Event(str(data["id"]), data["type"], data["occurred_at"], data["device_seq"], data["payload"])
    worker = db.session.get(User, q.user_id)
    implausible = implausible_time(event, q.skew_seconds, now)
    if implausible:
        raise Conflict(implausible[1], code=implausible[0])
    rejection = ev.check(event, worker.id, worker.unit_id, DbFacts.read([event], worker.unit_id), tz())
    if rejection:
        raise Conflict(rejection.message, code=rejection.code)
    flagged = abs(q.skew_seconds) > cfg["CLOCK_SKEW_FLAG_SECONDS"]
    seq = _store(event, raw, worker, worker.unit_id, ev.SOURCE_DEVICE, admin.id, device_id=q.device_id,
                 skew=q.skew_seconds, flagged=flagged)
    if seq is None:
        raise Conflict("En post med samma id finns redan i loggen.", code="id_reused")
    # The phone may resend the original: it must hear "already received", not "id reused".
    db.session.execute(Event.__table__.update().where(Event.id == q.id).values(fingerprint=fingerprint(original)))
    q.state, q.resolved_by, q.resolved_at, q.resolution_note = "reapplied", admin.id, now, note
    return q


def dismiss_quarantined(admin, qid, reason, now):
    q = _quarantined(admin, qid)
    q.state, q.resolved_by, q.resolved_at, q.resolution_note = "dismissed", admin.id, now, reason
    return q


def unit_settings_view(user, unit_id):
    _own_unit(user, unit_id)
    unit = db.session.get(Unit, unit_id)
    row = db.session.get(UnitRuleSettings, unit_id)
    return {"unit_id": unit_id, "lock_date": unit.lock_date.isoformat() if unit.lock_date else None,
            "effective": rule_settings().for_unit(unit_id).to_dict(), "overrides": row.overrides if row else {},
            "timezone": current_app.config["TIMEZONE"]}


def parse_day(text, name):
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput("Ogiltigt datum.", errors={name: ["Ange ÅÅÅÅ-MM-DD."]})
