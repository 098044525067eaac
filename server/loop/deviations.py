"""Deviations (avvikelser): each reported one gets a row when it is stored and its people are told at once;
managers and administrators list, filter and export them and move them new → received → handled."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import aliased

from sync.errors import Conflict, InvalidInput, NotFound, OutOfScope

from ..extensions import db
from ..models import Client, Event, User, Visit, utcnow
from ..notify import enqueue
from .models import DEVIATION_STATES, Deviation, DeviationChange
from .people import managers_and_nurse

CATEGORY_LABELS = {"fall": "Fall", "medication": "Läkemedel", "missed_visit": "Missat besök",
                   "outage": "Driftstopp", "injury": "Skada", "other": "Annat"}
STATUS_LABELS = {"new": "Ny", "received": "Mottagen", "handled": "Hanterad"}


def record(stored):
    """A row per newly stored deviation (pairs of ingest.ToStore and its log row) and a notification to the
    unit's managers and the client's responsible nurse — texts without names, once per record."""
    offline_after = timedelta(seconds=current_app.config["LOOP_OFFLINE_SECONDS"])
    for item, row in stored:
        payload = item.event.payload
        client_id = payload.get("client_id")
        if client_id is None and payload.get("visit_id") is not None:  # a visit names its client
            client_id = db.session.scalar(select(Visit.client_id).where(Visit.id == payload["visit_id"]))
        deviation = Deviation(event_id=row["id"], unit_id=row["unit_id"], client_id=client_id,
                              visit_id=payload.get("visit_id"), worker_id=row["user_id"],
                              category=payload["category"], status="new",
                              offline=row["received_at"] - row["occurred_at_corrected"] > offline_after)
        db.session.add(deviation)
        enqueue("deviation_reported", managers_and_nurse(row["unit_id"], deviation.client_id),
                {"at": row["occurred_at_corrected"]}, dedupe_key=row["id"])


def _query(unit_id):
    worker, changer = aliased(User), aliased(User)
    return (select(Deviation, Event.payload, Event.occurred_at_corrected, Event.occurred_at_raw, Event.received_at,
                   Client.name, Client.personal_number, Visit.planned_start, worker.display_name,
                   worker.username, changer.display_name)
            .join(Event, Event.id == Deviation.event_id)
            .join(worker, worker.id == Deviation.worker_id)
            .outerjoin(changer, changer.id == Deviation.status_by)
            .outerjoin(Client, Client.id == Deviation.client_id)
            .outerjoin(Visit, Visit.id == Deviation.visit_id)
            .where(Deviation.unit_id == unit_id))


def _row(r):
    d, payload, happened, raw, received, client, pnr, visit_start, worker, username, changer = r
    return {"id": d.id, "event_id": d.event_id, "category": d.category,
            "category_label": CATEGORY_LABELS.get(d.category, d.category), "description": payload.get("description"),
            "client": None if d.client_id is None else {"id": d.client_id, "name": client, "personal_number": pnr},
            "visit": None if d.visit_id is None else {"id": d.visit_id, "planned_start": visit_start},
            "worker": {"id": d.worker_id, "display_name": worker, "username": username},
            "happened_at": happened, "happened_at_device": raw, "reported_at": received, "offline": d.offline,
            "status": d.status, "status_label": STATUS_LABELS[d.status],
            "status_by": None if d.status_by is None else {"id": d.status_by, "display_name": changer},
            "status_at": d.status_at, "status_comment": d.status_comment}


def list_rows(unit_id, start=None, end=None, status=None, category=None, client_id=None, offline=None):
    """The unit's deviations, newest first, narrowed by when they happened [start, end) and the other filters."""
    query = _query(unit_id)
    if start is not None:
        query = query.where(Event.occurred_at_corrected >= start)
    if end is not None:
        query = query.where(Event.occurred_at_corrected < end)
    for column, value in ((Deviation.status, status), (Deviation.category, category),
                          (Deviation.client_id, client_id), (Deviation.offline, offline)):
        if value is not None:
            query = query.where(column == value)
    return [_row(r) for r in db.session.execute(query.order_by(Event.occurred_at_corrected.desc(),
                                                               Deviation.id.desc()))]


def _own(user, deviation_id):
    deviation = db.session.get(Deviation, deviation_id)
    if deviation is None:
        raise NotFound("Avvikelsen finns inte.")
    if deviation.unit_id != user.unit_id:
        raise OutOfScope("Avvikelsen hör till en annan enhet.")
    return deviation


def detail(user, deviation_id):
    """One deviation of the viewer's unit with its whole status history."""
    deviation = _own(user, deviation_id)
    row = _row(db.session.execute(_query(user.unit_id).where(Deviation.id == deviation.id)).one())
    changes = db.session.execute(select(DeviationChange, User.display_name)
                                 .join(User, User.id == DeviationChange.changed_by)
                                 .where(DeviationChange.deviation_id == deviation.id)
                                 .order_by(DeviationChange.changed_at, DeviationChange.id)).all()
    row["history"] = [{"from": c.status_from, "to": c.status_to, "by": {"id": c.changed_by, "display_name": name},
                       "at": c.changed_at, "comment": c.comment} for c, name in changes]
    return deviation, row


def change_status(user, deviation_id, status, comment):
    """Move a deviation forward (new → received → handled); handling needs a comment on what was done.
    Every change is kept in the history with who, when and why."""
    deviation = _own(user, deviation_id)
    if DEVIATION_STATES.index(status) <= DEVIATION_STATES.index(deviation.status):
        raise Conflict(f"Avvikelsen är redan {STATUS_LABELS[deviation.status].lower()}.", code="status_not_forward")
    if status == "handled" and not comment:
        raise InvalidInput("Beskriv hur avvikelsen hanterades.", errors={"comment": ["Saknas."]})
    now = utcnow()
    db.session.add(DeviationChange(deviation_id=deviation.id, status_from=deviation.status, status_to=status,
                                   changed_by=user.id, changed_at=now, comment=comment))
    deviation.status, deviation.status_by, deviation.status_at, deviation.status_comment = status, user.id, now, comment
    return deviation
