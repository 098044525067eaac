"""Tables of the dashboards: documented access-log checks, daily backlog snapshots, and the indexes the queries use."""
from sqlalchemy import Date, Float, Integer, Text

from ..extensions import db
from ..models import AccessLog, Device, Event, QuarantinedEvent, UTCDateTime, utcnow


class AccessCheck(db.Model):
    """A documented review of the access log (HSLF-FS 2016:40 asks for recurring, documented checks)."""

    __tablename__ = "access_checks"
    id = db.Column(Integer, primary_key=True)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    checked_by = db.Column(db.ForeignKey("users.id"), nullable=False)
    checked_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    period_from = db.Column(UTCDateTime, nullable=False)
    period_to = db.Column(UTCDateTime, nullable=False)
    client_id = db.Column(Integer)  # the search criteria the check covered, if narrowed
    user_id = db.Column(Integer)
    rows_reviewed = db.Column(Integer, nullable=False)
    denied_reviewed = db.Column(Integer, nullable=False, default=0)
    note = db.Column(Text, nullable=False)
    checker = db.relationship("User", foreign_keys=[checked_by])

    __table_args__ = (db.Index("ix_access_checks_unit_checked", "unit_id", "checked_at"),)


class BacklogSnapshot(db.Model):
    """One unit's figures for one day (Europe/Stockholm): the history behind the trend charts.

    Device status blocks only hold the latest state, so the backlog of each day is kept here: refreshed
    whenever the backlog is computed that day, and by `flask --app server dashboard-snapshot` (cron); a day
    nobody looked at has no backlog figures (shown as a gap, never as zero). The sync-delay figures of a
    finished day are final (they are bucketed by the server's receive time), so they are computed from the
    event log once and kept here, and only today's are aggregated live.
    """

    __tablename__ = "backlog_snapshots"
    id = db.Column(Integer, primary_key=True)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    day = db.Column(Date, nullable=False)
    taken_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    devices = db.Column(Integer)
    pending_records = db.Column(Integer)
    devices_with_pending = db.Column(Integer)
    silent_devices = db.Column(Integer)
    oldest_pending_seconds = db.Column(Integer)
    quarantined_open = db.Column(Integer)
    synced_records = db.Column(Integer)  # set once the day is over
    avg_sync_delay_seconds = db.Column(Float)
    max_sync_delay_seconds = db.Column(Float)

    __table_args__ = (db.UniqueConstraint("unit_id", "day", name="uq_backlog_snapshots_unit_day"),)


# Indexes on the foundation's tables that the dashboard queries need (created by this area's migration).
db.Index("ix_access_log_unit_at", AccessLog.unit_id, AccessLog.at,
         postgresql_include=["outcome", "offline"])  # the review's counts come from the index alone
db.Index("ix_access_log_denied_client", AccessLog.client_id, AccessLog.at,
         postgresql_where=AccessLog.outcome == "denied", sqlite_where=AccessLog.outcome == "denied")
db.Index("ix_access_log_at", AccessLog.at)  # retention pruning
db.Index("ix_quarantined_events_unit_state", QuarantinedEvent.unit_id, QuarantinedEvent.state)
db.Index("ix_devices_unit_revoked", Device.unit_id, Device.revoked_at)
db.Index("ix_events_visit_user", Event.visit_id, Event.user_id)
db.Index("ix_events_unit_source", Event.unit_id, Event.source)  # backfills of a unit (conflicts)
