"""Approval and export: a manager approves a period's registrations of the unit (planned against performed time
per visit and worker, interventions, where each came from); approving moves the unit's lock date past the period,
so a later record for it goes to quarantine (`before_lock_date`), and is recorded with who, when and what.
The approved period exports as CSV and JSON with one stable schema (docs/closing-the-loop.md): one row per visit
and worker, one per planned intervention and worker.
"""
from datetime import timedelta

from sqlalchemy import func, select

from sync import events as ev
from sync.errors import Conflict, NotFound, OutOfScope

from ..dashboard.outage_figures import open_conflict_pairs
from ..dashboard.queries import day_start_utc, zone
from ..extensions import db
from ..models import (CarePlanIntervention, Client, Event, InterventionRecord, QuarantinedEvent, Registration, Unit,
                      User, Visit, utcnow, visit_interventions, visit_workers)
from ..outages.models import Gap
from .models import Approval

SCHEMA = "hemvard-export/1"
VISIT_FIELDS = ("unit_code", "visit_id", "date", "client_id", "client_personal_number", "worker_id",
                "worker_username", "planned_start", "planned_end", "planned_minutes", "started_at", "ended_at",
                "performed_minutes", "start_source", "end_source", "source", "status")
INTERVENTION_FIELDS = ("unit_code", "visit_id", "date", "client_id", "client_personal_number", "worker_id",
                       "worker_username", "intervention_id", "intervention_code", "intervention_title",
                       "planned_minutes", "status", "reason", "comment", "source")
# Where a registration came from, in the export's words: the phone at the visit, the worker's own
# post-registration on the phone, or an administrator's backfill (or decision between the two).
SOURCES = ("device", "self_registration", "backfill")


def _local(moment):
    return None if moment is None else moment.astimezone(zone()).isoformat(timespec="seconds")


def _minutes(start, end):
    return None if start is None or end is None else round((end - start).total_seconds() / 60)


def _source(source, key, self_registered):
    if source is None:
        return None
    if source != ev.SOURCE_DEVICE:
        return "backfill"  # a backfill, or an administrator's resolution of a backfill-versus-phone conflict
    return "self_registration" if key.rsplit("|", 1)[-1] in self_registered else "device"


def _self_registered(keys):
    """Which of these records (rank keys end in the record id) a phone sent as post-registrations."""
    ids = sorted({k.rsplit("|", 1)[-1] for k in keys if k})
    if not ids:
        return set()
    return {i for i, payload in db.session.execute(select(Event.id, Event.payload).where(Event.id.in_(ids)))
            if payload.get("post_registration")}


def rows(unit_id, first, last):
    """(visit rows, intervention rows) of the unit's visits planned on the local days first..last."""
    start, end = day_start_utc(first), day_start_utc(last + timedelta(days=1))
    unit_code = db.session.scalar(select(Unit.code).where(Unit.id == unit_id))
    pairs = db.session.execute(
        select(Visit, Client.personal_number, User.id, User.username, Registration)
        .join(Client, Client.id == Visit.client_id)
        .join(visit_workers, visit_workers.c.visit_id == Visit.id)
        .join(User, User.id == visit_workers.c.worker_id)
        .outerjoin(Registration, (Registration.visit_id == Visit.id) & (Registration.worker_id == User.id))
        .where(Visit.unit_id == unit_id, Visit.planned_start >= start, Visit.planned_start < end,
               Visit.cancelled.is_(False))
        .order_by(Visit.planned_start, Visit.id, User.id)).all()
    planned = db.session.execute(
        select(visit_interventions.c.visit_id, CarePlanIntervention)
        .join(CarePlanIntervention, CarePlanIntervention.id == visit_interventions.c.intervention_id)
        .join(Visit, Visit.id == visit_interventions.c.visit_id)
        .where(Visit.unit_id == unit_id, Visit.planned_start >= start, Visit.planned_start < end)
        .order_by(CarePlanIntervention.id)).all()
    by_visit = {}
    for visit_id, intervention in planned:
        by_visit.setdefault(visit_id, []).append(intervention)
    records = {(r.visit_id, r.worker_id, r.intervention_id): r for r in db.session.scalars(
        select(InterventionRecord).join(Visit, Visit.id == InterventionRecord.visit_id)
        .where(Visit.unit_id == unit_id, Visit.planned_start >= start, Visit.planned_start < end))}
    keys = [k for *_, reg in pairs if reg for k in (reg.started_key, reg.ended_key)] + \
           [r.key for r in records.values() if r.source == ev.SOURCE_DEVICE]
    self_registered = _self_registered(keys)
    visit_rows, intervention_rows = [], []
    for visit, pnr, worker_id, username, reg in pairs:
        common = {"unit_code": unit_code, "visit_id": visit.id,
                  "date": visit.planned_start.astimezone(zone()).date().isoformat(), "client_id": visit.client_id,
                  "client_personal_number": pnr, "worker_id": worker_id, "worker_username": username}
        started, ended = (reg.started_at, reg.ended_at) if reg else (None, None)
        start_source = _source(reg.started_source, reg.started_key, self_registered) if reg else None
        end_source = _source(reg.ended_source, reg.ended_key, self_registered) if reg else None
        sources = {s for s in (start_source, end_source) if s}
        visit_rows.append({**common, "planned_start": _local(visit.planned_start),
                           "planned_end": _local(visit.planned_end),
                           "planned_minutes": _minutes(visit.planned_start, visit.planned_end),
                           "started_at": _local(started), "ended_at": _local(ended),
                           "performed_minutes": _minutes(started, ended), "start_source": start_source,
                           "end_source": end_source,
                           "source": next((s for s in reversed(SOURCES) if s in sources), None),
                           "status": "performed" if started and ended else "partial" if started or ended
                           else "not_registered"})
        for intervention in by_visit.get(visit.id, []):
            rec = records.get((visit.id, worker_id, intervention.id))
            intervention_rows.append({
                **common, "intervention_id": intervention.id, "intervention_code": intervention.code,
                "intervention_title": intervention.title, "planned_minutes": intervention.planned_minutes,
                "status": rec.status if rec else "not_registered", "reason": rec.reason if rec else None,
                "comment": rec.comment if rec else None,
                "source": _source(rec.source, rec.key, self_registered) if rec else None})
    return visit_rows, intervention_rows


def totals(visit_rows, intervention_rows):
    """What is approved, in numbers: the export's rows must add up to these."""
    count = lambda items, field, value: sum(1 for r in items if r[field] == value)  # noqa: E731
    return {"visit_rows": len(visit_rows), "performed": count(visit_rows, "status", "performed"),
            "partial": count(visit_rows, "status", "partial"),
            "not_registered": count(visit_rows, "status", "not_registered"),
            "planned_minutes": sum(r["planned_minutes"] for r in visit_rows),
            "performed_minutes": sum(r["performed_minutes"] or 0 for r in visit_rows),
            "by_source": {s: count(visit_rows, "source", s) for s in SOURCES},
            "intervention_rows": len(intervention_rows),
            "interventions_done": count(intervention_rows, "status", "done"),
            "interventions_not_done": count(intervention_rows, "status", "not_done"),
            "interventions_not_registered": count(intervention_rows, "status", "not_registered")}


def open_matters(user, first, last):
    """What is still unsettled in the period: open backfill-versus-phone conflicts of its visits (as the outages
    area judges them), open outage gaps of its visits and the unit's open quarantine."""
    start, end = day_start_utc(first), day_start_utc(last + timedelta(days=1))
    in_period = select(Visit.id).where(Visit.unit_id == user.unit_id, Visit.planned_start >= start,
                                       Visit.planned_start < end)
    conflicts = open_conflict_pairs(user, in_period) or ()
    gaps = db.session.scalar(select(func.count()).select_from(Gap).where(
        Gap.unit_id == user.unit_id, Gap.state == "open", Gap.visit_id.in_(in_period)))
    quarantined = db.session.scalar(select(func.count()).select_from(QuarantinedEvent)
                                    .where(QuarantinedEvent.unit_id == user.unit_id, QuarantinedEvent.state == "open"))
    return {"open_conflicts": len(conflicts), "open_gaps": gaps, "open_quarantine": quarantined}


def approve(user, first, last, comment, now=None):
    """Record the approval of first..last (local days, inclusive) and lock the period: the unit's lock date
    becomes the day after `last` — never earlier than it was. Only a period that has ended, with no open
    backfill-versus-phone conflict, can be approved."""
    now = now or utcnow()
    if last >= now.astimezone(zone()).date():
        raise Conflict("Bara en period som är slut kan attesteras (till och med i går).", code="period_not_over")
    unit = db.session.get(Unit, user.unit_id)
    matters = open_matters(user, first, last)
    if matters["open_conflicts"]:  # which registration stands is not decided yet: nothing to approve
        raise Conflict(f"{matters['open_conflicts']} konflikter mellan efterregistrering och telefon är olösta i "
                       "perioden; en administratör löser dem först.", code="open_conflicts")
    visit_rows, intervention_rows = rows(unit.id, first, last)
    summary = {**totals(visit_rows, intervention_rows), **matters}
    before = unit.lock_date
    unit.lock_date = max(before, last + timedelta(days=1)) if before else last + timedelta(days=1)
    approval = Approval(unit_id=unit.id, period_from=first, period_to=last, approved_by=user.id, approved_at=now,
                        lock_date_before=before, lock_date_after=unit.lock_date, summary=summary, comment=comment)
    db.session.add(approval)
    db.session.flush()
    return approval, visit_rows, intervention_rows


def get(user, approval_id):
    approval = db.session.get(Approval, approval_id)
    if approval is None:
        raise NotFound("Attesteringen finns inte.")
    if approval.unit_id != user.unit_id:
        raise OutOfScope("Attesteringen gäller en annan enhet.")
    return approval


def as_json(approval, names=None):
    return {"id": approval.id, "from": approval.period_from, "to": approval.period_to,
            "approved_by": {"id": approval.approved_by, "display_name": (names or {}).get(approval.approved_by)},
            "approved_at": approval.approved_at, "lock_date_before": approval.lock_date_before,
            "lock_date_after": approval.lock_date_after, "summary": approval.summary, "comment": approval.comment}


def history(unit_id):
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.unit_id == unit_id)).all())
    return [as_json(a, names) for a in db.session.scalars(
        select(Approval).where(Approval.unit_id == unit_id).order_by(Approval.approved_at.desc(), Approval.id.desc()))]
