"""Rows to facts: the settings, and what `sync.rules` needs to know of an outage and of each visit in it."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select

from sync import conflicts as cf
from sync import events as ev
from sync import rules
from sync.rule_settings import Policy, RuleSettings

from ..extensions import db
from ..models import Event, Registration, Unit, Visit, visit_workers
from .models import Gap, Outage, UnitRuleSettings, WorkerAbsence

DUTY_LOOKAHEAD = timedelta(days=21)  # how far after an outage we look for the worker's working days
VISIT_SPAN = timedelta(days=1)  # no visit is longer: an outage ended this long before another began shares none


def tz():
    return ZoneInfo(current_app.config["TIMEZONE"])


def rule_settings() -> RuleSettings:
    """The configured defaults merged with every unit's stored overrides."""
    cfg = current_app.config
    base = {"timezone": cfg["TIMEZONE"], "threshold_minutes": cfg["OUTAGE_THRESHOLD_MINUTES"],
            "self_deadline_days": cfg["OUTAGE_SELF_DEADLINE_DAYS"], "admin_grace_days": cfg["OUTAGE_ADMIN_GRACE_DAYS"],
            "long_outage_policy": cfg["OUTAGE_LONG_POLICY"]}
    overrides = {row.unit_id: row.overrides for row in db.session.scalars(select(UnitRuleSettings))}
    return RuleSettings.from_mapping(base, overrides)


def outage_facts(outage: Outage) -> rules.OutageFacts:
    return rules.OutageFacts(id=outage.id, kind=outage.kind, started_at=outage.started_at, ended_at=outage.ended_at,
                             announced_policy=Policy.from_dict(outage.announced_policy),
                             decided_policy=Policy.from_dict(outage.decided_policy))


def candidates(outage, now):
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


def gap_facts(outage, pairs, now, settings):
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
    this = outage_facts(outage)
    neighbours = _neighbours(outage, now)
    facts = {}
    for (visit_id, worker_id), visit in pairs.items():
        holders = [this] + [other for other, unit_ids in neighbours if visit.unit_id in unit_ids]
        owner = rules.covering_outage(holders, visit.planned_start, visit.planned_end, now) if neighbours else None
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
            absent_dates=frozenset(absent.get(worker_id, ())),
            covered_by=owner.id if owner is not None and owner.id != outage.id else None)
    return facts


def _neighbours(outage, now):
    """Other confirmed outages of the same units that may hold the same visits, each with its unit ids."""
    end = outage.ended_at or now
    rows = db.session.scalars(select(Outage).join(Outage.units).where(
        Unit.id.in_([u.id for u in outage.units]), Outage.status == "confirmed", Outage.id != outage.id,
        Outage.started_at < end + VISIT_SPAN,
        or_(Outage.ended_at.is_(None), Outage.ended_at > outage.started_at - VISIT_SPAN)).distinct())
    return [(outage_facts(o), {u.id for u in o.units}) for o in rows]


def decision_of(gap: Gap):
    return rules.Decision(state=gap.state, route=gap.route, deadline=gap.deadline, rule=gap.rule,
                          inputs=gap.inputs, explanation=gap.explanation, explanation_en=gap.explanation_en)
