"""Quarantine: records the server rejected, kept with their reason until an administrator reapplies or dismisses them."""
from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select

from sync import events as ev
from sync.errors import Conflict, NotFound, OutOfScope

from ..extensions import db
from ..ingest import DbFacts, fingerprint, implausible_time, store_event
from ..models import Event, QuarantinedEvent, User
from ..schemas import EventSchema
from .facts import tz


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
    q = _quarantined(admin, qid)
    original = dict(q.raw)
    raw = {**original, **{k: v for k, v in corrections.items() if k in ("occurred_at", "payload")}}
    if "payload" in corrections:
        raw["payload"] = {**(original.get("payload") or {}), **corrections["payload"]}
    raw["id"] = q.id
    if "occurred_at" in corrections:
        raw["occurred_at"] = corrections["occurred_at"].isoformat()
    cfg = current_app.config
    data = EventSchema().load(raw)  # ValidationError → 422 with field messages
    event = ev.Event(str(data["id"]), data["type"], data["occurred_at"], data["device_seq"], data["payload"])
    worker = db.session.get(User, q.user_id)
    implausible = implausible_time(event, q.skew_seconds, now)  # the same checks a sync makes, in its order
    if implausible:  # the administrator's correction is the field at fault
        raise ValidationError({"occurred_at": [implausible[1]]})
    rejection = ev.check(event, worker.id, worker.unit_id, DbFacts.read([event], worker.unit_id), tz())
    if rejection:
        raise Conflict(rejection.message, code=rejection.code)
    flagged = abs(q.skew_seconds) > cfg["CLOCK_SKEW_FLAG_SECONDS"]
    seq = store_event(event, raw, user=worker, unit_id=worker.unit_id, device_id=q.device_id, source=ev.SOURCE_DEVICE,
                      skew=q.skew_seconds, flagged=flagged, recorded_by=admin.id)
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
