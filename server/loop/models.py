"""Tables of closing the loop: deviations with their status history, transfer-back ticks, period approvals; the
event log's index for handover notes."""
from sqlalchemy import Boolean, Date, Integer, String, Text, text

from ..extensions import db
from ..models import Event, Json, UTCDateTime, utcnow

DEVIATION_STATES = ("new", "received", "handled")


class Deviation(db.Model):
    """A reported deviation (avvikelse) and where its handling stands; what was written stays in the event log."""

    __tablename__ = "loop_deviations"
    id = db.Column(Integer, primary_key=True)
    event_id = db.Column(db.ForeignKey("events.id"), nullable=False, unique=True)  # once per record, ever
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    client_id = db.Column(db.ForeignKey("clients.id"))
    visit_id = db.Column(db.ForeignKey("visits.id"))
    worker_id = db.Column(db.ForeignKey("users.id"), nullable=False)
    category = db.Column(String(32), nullable=False)
    offline = db.Column(Boolean, nullable=False)  # recorded on the phone well before it reached the server
    status = db.Column(String(16), nullable=False, default="new")
    status_by = db.Column(db.ForeignKey("users.id"))
    status_at = db.Column(UTCDateTime)
    status_comment = db.Column(Text)

    __table_args__ = (db.CheckConstraint("status in ('new', 'received', 'handled')", name="status"),
                      db.Index("ix_loop_deviations_unit_status", "unit_id", "status"))


class DeviationChange(db.Model):
    """Append-only: every status change of a deviation, who made it, when and why."""

    __tablename__ = "loop_deviation_changes"
    id = db.Column(Integer, primary_key=True)
    deviation_id = db.Column(db.ForeignKey("loop_deviations.id", ondelete="CASCADE"), nullable=False, index=True)
    status_from = db.Column(String(16), nullable=False)
    status_to = db.Column(String(16), nullable=False)
    changed_by = db.Column(db.ForeignKey("users.id"), nullable=False)
    changed_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    comment = db.Column(Text)


class TransferMark(db.Model):
    """One item of an outage's transfer list ticked as entered into the system of record (överförd).
    `fingerprint` is the item's content when ticked: a later change of it shows the item as changed."""

    __tablename__ = "loop_transfers"
    id = db.Column(Integer, primary_key=True)
    outage_id = db.Column(db.ForeignKey("outages.id", ondelete="CASCADE"), nullable=False)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    item_key = db.Column(String(120), nullable=False)
    fingerprint = db.Column(String(64), nullable=False)
    transferred_by = db.Column(db.ForeignKey("users.id"), nullable=False)
    transferred_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (db.UniqueConstraint("outage_id", "unit_id", "item_key", name="uq_loop_transfers_item"),)


class Approval(db.Model):
    """A manager approved a period's registrations of the unit: who, when, what (summary), the lock date set."""

    __tablename__ = "loop_approvals"
    id = db.Column(Integer, primary_key=True)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    period_from = db.Column(Date, nullable=False)
    period_to = db.Column(Date, nullable=False)  # inclusive
    approved_by = db.Column(db.ForeignKey("users.id"), nullable=False)
    approved_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    lock_date_before = db.Column(Date)
    lock_date_after = db.Column(Date, nullable=False)
    summary = db.Column(Json, nullable=False)  # the totals approved (the export's must equal them)
    comment = db.Column(Text)

    __table_args__ = (db.Index("ix_loop_approvals_unit_approved", "unit_id", "approved_at"),)


# The handover notes of a shift package's clients and their acknowledgements (loop/handover.py, migration
# 0015_handover): partial, so the records a push stores of every other type do not pay for it.
_NOTES = text("type IN ('note_added', 'handover_acknowledged')")
db.Index("ix_events_notes_client", Event.client_id, Event.occurred_at_corrected,
         postgresql_where=_NOTES, sqlite_where=_NOTES)
