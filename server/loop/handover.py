"""Handover to the next visit (Till nästa besök): the open handover notes a worker's shift package carries.

A note recorded with `handover: true` is for whoever comes next: it is in the package of each worker of the
unit who has a visit of that client ending after the note was written — not the writer, not at the visit it was
written at (a partner there has heard it) — until someone acknowledges it ("Läst", `handover_acknowledged`).
Then it is gone for everyone: the next visit has read it, and the team does not pass one note on for days.
Notes older than LOOP_HANDOVER_DAYS are not sent. docs/closing-the-loop.md, "Handover to the next visit".
"""
from datetime import timedelta
from uuid import UUID

from flask import current_app
from sqlalchemy import select, text

from sync import events as ev

from ..extensions import db
from ..models import Event, User, Visit

# Written as the partial index ix_events_notes_client's predicate (loop/models.py), so the planner can use it.
_NOTES = text("events.type IN ('note_added', 'handover_acknowledged')")


def open_notes(user, visits, now):
    """The open handover notes for the clients of `visits` (the worker's, in the package's window), oldest first:
    each with its text, author, when it was written (the phone's time corrected by its clock skew), the visit it
    was written at, and which of the worker's visits it is for."""
    by_client = {}
    for v in visits:
        if not v.cancelled:
            by_client.setdefault(v.client_id, []).append(v)
    if not by_client:
        return []
    since = now - timedelta(days=current_app.config["LOOP_HANDOVER_DAYS"])
    rows = db.session.execute(
        select(Event.id, Event.type, Event.client_id, Event.visit_id, Event.user_id, Event.payload,
               Event.occurred_at_corrected, User.display_name, Visit.planned_start)
        .join(User, User.id == Event.user_id).outerjoin(Visit, Visit.id == Event.visit_id)
        .where(_NOTES, Event.client_id.in_(sorted(by_client)), Event.occurred_at_corrected >= since,
               Event.unit_id == user.unit_id)
        .order_by(Event.occurred_at_corrected, Event.id)).all()
    read = {str(UUID(r.payload["note_id"])) for r in rows if r.type == ev.HANDOVER_ACKNOWLEDGED}
    notes = []
    for r in rows:
        if r.type != ev.NOTE_ADDED or r.payload.get("handover") is not True or r.id in read or r.user_id == user.id:
            continue
        for_visits = [v.id for v in by_client[r.client_id]
                      if v.id != r.visit_id and v.planned_end > r.occurred_at_corrected]
        if for_visits:
            notes.append({"id": r.id, "client_id": r.client_id, "text": r.payload["text"], "author": r.display_name,
                          "written_at": r.occurred_at_corrected, "visit_id": r.visit_id,
                          "visit_start": r.planned_start, "for_visits": for_visits})
    return notes
