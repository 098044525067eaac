"""Tables of the outage area: outages, gaps with their decision history, absences, rule settings, heartbeats."""
from sqlalchemy import Integer, String, Text

from ..extensions import db
from ..models import Json, UTCDateTime, utcnow

outage_units = db.Table(
    "outage_units",
    db.Column("outage_id", db.ForeignKey("outages.id", ondelete="CASCADE"), primary_key=True),
    db.Column("unit_id", db.ForeignKey("units.id"), primary_key=True, index=True),
)


class Outage(db.Model):
    """A planned or unplanned outage (driftstopp), declared by an administrator or proposed from evidence."""

    __tablename__ = "outages"
    id = db.Column(Integer, primary_key=True)
    kind = db.Column(String(16), nullable=False)  # planned | unplanned
    status = db.Column(String(16), nullable=False, default="confirmed")  # proposed | confirmed | dismissed | withdrawn
    title = db.Column(String(200), nullable=False)
    description = db.Column(Text)
    started_at = db.Column(UTCDateTime, nullable=False)  # planned: the announced start
    ended_at = db.Column(UTCDateTime)  # None while ongoing
    expected_end = db.Column(UTCDateTime)  # planned: the announced end
    announced_at = db.Column(UTCDateTime)
    announced_policy = db.Column(Json)  # planned: how post-registration is handled, if announced
    decided_policy = db.Column(Json)  # long: the management's decision
    decided_by = db.Column(db.ForeignKey("users.id"))
    decided_at = db.Column(UTCDateTime)
    reporter_name = db.Column(String(120))  # fault report (seed 004): who reported it
    discovered_by_unit_id = db.Column(db.ForeignKey("units.id"))  # which unit discovered it
    fault_type = db.Column(String(32))  # type of fault, to gauge the extent
    evidence = db.Column(Json)  # proposals: what made the server suggest it
    dismissed_reason = db.Column(Text)
    withdrawn_at = db.Column(UTCDateTime)  # registered by mistake: kept, with who withdrew it, when and why
    withdrawn_by = db.Column(db.ForeignKey("users.id"))
    withdrawn_reason = db.Column(Text)
    threshold_notified_at = db.Column(UTCDateTime)  # managers were told it crossed the threshold
    ended_notified_at = db.Column(UTCDateTime)
    created_by = db.Column(db.ForeignKey("users.id"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    units = db.relationship("Unit", secondary=outage_units, order_by="Unit.id")

    __table_args__ = (db.CheckConstraint("kind in ('planned', 'unplanned')", name="kind"),
                      db.CheckConstraint("status in ('proposed', 'confirmed', 'dismissed', 'withdrawn')", name="status"))


class Gap(db.Model):
    """The current decision for one worker's visit inside one outage; its history is in GapDecision."""

    __tablename__ = "outage_gaps"
    id = db.Column(Integer, primary_key=True)
    outage_id = db.Column(db.ForeignKey("outages.id", ondelete="CASCADE"), nullable=False)
    visit_id = db.Column(db.ForeignKey("visits.id"), nullable=False, index=True)  # the push looks up its visits' gaps
    worker_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    state = db.Column(String(16), nullable=False)  # open | closed
    route = db.Column(String(16))  # self | admin | decision (open gaps)
    deadline = db.Column(UTCDateTime)
    rule = db.Column(String(48), nullable=False)
    explanation = db.Column(Text, nullable=False)
    explanation_en = db.Column(Text, nullable=False)
    inputs = db.Column(Json, nullable=False)
    decided_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    reminded_at = db.Column(UTCDateTime)  # the worker was reminded of a deadline tomorrow
    visit = db.relationship("Visit")
    worker = db.relationship("User", foreign_keys=[worker_id])

    __table_args__ = (db.UniqueConstraint("outage_id", "visit_id", "worker_id", name="uq_outage_gaps_ovw"),
                      db.Index("ix_outage_gaps_unit_state", "unit_id", "state", "route"))


class GapDecision(db.Model):
    """Append-only history: every decision the rule engine made for a gap, with its rule and inputs."""

    __tablename__ = "outage_gap_decisions"
    id = db.Column(Integer, primary_key=True)
    gap_id = db.Column(db.ForeignKey("outage_gaps.id", ondelete="CASCADE"), nullable=False, index=True)
    state = db.Column(String(16), nullable=False)
    route = db.Column(String(16))
    deadline = db.Column(UTCDateTime)
    rule = db.Column(String(48), nullable=False)
    explanation = db.Column(Text, nullable=False)
    inputs = db.Column(Json, nullable=False)
    trigger = db.Column(String(48), nullable=False)  # what made us look again
    decided_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class WorkerAbsence(db.Model):
    """A day a worker is marked absent: gaps they would register go to the administrators instead."""

    __tablename__ = "worker_absences"
    id = db.Column(Integer, primary_key=True)
    worker_id = db.Column(db.ForeignKey("users.id"), nullable=False)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    day = db.Column(db.Date, nullable=False)
    reason = db.Column(String(200))
    marked_by = db.Column(db.ForeignKey("users.id"), nullable=False)
    marked_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (db.UniqueConstraint("worker_id", "day", name="uq_worker_absences_worker_day"),)


class UnitRuleSettings(db.Model):
    """A unit's overrides of the post-registration settings (threshold, deadlines, standing long-outage policy)."""

    __tablename__ = "unit_rule_settings"
    unit_id = db.Column(db.ForeignKey("units.id"), primary_key=True)
    overrides = db.Column(Json, nullable=False)
    updated_by = db.Column(db.ForeignKey("users.id"))
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class ConflictResolution(db.Model):
    """An administrator's decision on a backfill-versus-device conflict (the records themselves stay)."""

    __tablename__ = "conflict_resolutions"
    id = db.Column(Integer, primary_key=True)
    visit_id = db.Column(db.ForeignKey("visits.id"), nullable=False)
    worker_id = db.Column(db.ForeignKey("users.id"), nullable=False)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    effective = db.Column(String(16), nullable=False)  # device | backfill
    fields = db.Column(Json, nullable=False)
    note = db.Column(Text)
    resolved_by = db.Column(db.ForeignKey("users.id"), nullable=False)
    resolved_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class Heartbeat(db.Model):
    """The server's pulse: a gap between two beats is evidence of the server's own downtime."""

    __tablename__ = "server_heartbeats"
    name = db.Column(String(32), primary_key=True)
    beat_at = db.Column(UTCDateTime, nullable=False)
