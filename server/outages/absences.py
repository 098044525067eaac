"""Absences: a worker marked absent cannot self-register, so their gaps go to the administrators (rule 3)."""
from datetime import timedelta

from sqlalchemy import select

from sync.errors import InvalidInput, NotFound, OutOfScope

from ..extensions import db
from ..models import User
from .evaluation import reevaluate_worker
from .models import WorkerAbsence


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
    reevaluate_worker(worker, now, "worker_absent")
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
    reevaluate_worker(worker, now, "absence_removed")


def absences(user, first=None, last=None):
    query = select(WorkerAbsence).where(WorkerAbsence.unit_id == user.unit_id)
    if first:
        query = query.where(WorkerAbsence.day >= first)
    if last:
        query = query.where(WorkerAbsence.day <= last)
    return list(db.session.scalars(query.order_by(WorkerAbsence.day, WorkerAbsence.worker_id)))
