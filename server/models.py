"""SQLAlchemy models: reference data (units, users, clients, visits), the event log and its projection."""
from datetime import datetime, timezone

from sqlalchemy import BigInteger, Integer, JSON, String, Text, types
from sqlalchemy.dialects.postgresql import JSONB

from .extensions import db

ROLES = ("worker", "admin", "manager")


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(types.TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which stores naive) as on PostgreSQL."""

    impl = types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


Json = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


class Unit(db.Model):
    __tablename__ = "units"
    id = db.Column(Integer, primary_key=True)
    code = db.Column(String(32), unique=True, nullable=False)
    name = db.Column(String(120), nullable=False)
    lock_date = db.Column(db.Date)  # spärrdatum: records before it go to quarantine, not the books
    external_id = db.Column(String(64), unique=True)  # the source system's id (server/importer)


class User(db.Model):
    __tablename__ = "users"
    id = db.Column(Integer, primary_key=True)
    username = db.Column(String(64), unique=True, nullable=False)
    display_name = db.Column(String(120), nullable=False)
    role = db.Column(String(16), nullable=False)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False, index=True)
    password_hash = db.Column(String(256), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    external_id = db.Column(String(64), unique=True)
    # A one-time enrolment code an administrator set (server/manage/enrolment.py): its sha256, never the code.
    enrolment_code_hash = db.Column(String(64))
    enrolment_code_expires_at = db.Column(UTCDateTime)
    unit = db.relationship(Unit)

    __table_args__ = (db.CheckConstraint("role in ('worker', 'admin', 'manager')", name="role"),)


class Device(db.Model):
    """An enrolled phone; its last status block is what managers see of its backlog."""

    __tablename__ = "devices"
    id = db.Column(String(64), primary_key=True)
    user_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False, index=True)
    name = db.Column(String(120))
    enrolled_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at = db.Column(UTCDateTime)
    token_generation = db.Column(Integer, nullable=False, default=0)  # bumped to void older tokens
    last_seen_at = db.Column(UTCDateTime)
    last_push_at = db.Column(UTCDateTime)
    last_pull_at = db.Column(UTCDateTime)  # the offline copy is "as of" this
    copy_covers_until = db.Column(UTCDateTime)
    status_pending = db.Column(Integer)
    status_oldest_pending_at = db.Column(UTCDateTime)
    status_device_clock = db.Column(UTCDateTime)
    status_app_version = db.Column(String(32))
    status_reported_at = db.Column(UTCDateTime)
    status_extra = db.Column(Json)  # forward-compatible fields of the status block
    last_skew_seconds = db.Column(db.Float)
    user = db.relationship(User)


class Client(db.Model):
    __tablename__ = "clients"
    id = db.Column(Integer, primary_key=True)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False, index=True)
    name = db.Column(String(120), nullable=False)
    personal_number = db.Column(String(13), nullable=False)
    address = db.Column(String(200), nullable=False)
    phone = db.Column(String(32))
    key_reference = db.Column(String(32))
    key_note = db.Column(String(200))
    person_card = db.Column(Json, nullable=False, default=dict)  # relatives, responsible nurse, notes
    care_plan_summary = db.Column(Text)
    medication_list = db.Column(Json)  # None: the client has none
    external_id = db.Column(String(64), unique=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow, index=True)
    interventions = db.relationship("CarePlanIntervention", order_by="CarePlanIntervention.id",
                                    back_populates="client")


class CarePlanIntervention(db.Model):
    __tablename__ = "care_plan_interventions"
    id = db.Column(Integer, primary_key=True)
    client_id = db.Column(db.ForeignKey("clients.id"), nullable=False, index=True)
    code = db.Column(String(32), nullable=False)
    title = db.Column(String(120), nullable=False)
    planned_minutes = db.Column(Integer, nullable=False)
    description = db.Column(Text)
    client = db.relationship(Client, back_populates="interventions")


visit_workers = db.Table(
    "visit_workers",
    db.Column("visit_id", db.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    db.Column("worker_id", db.ForeignKey("users.id"), primary_key=True, index=True),
)

visit_interventions = db.Table(
    "visit_interventions",
    db.Column("visit_id", db.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    db.Column("intervention_id", db.ForeignKey("care_plan_interventions.id"), primary_key=True),
)


visit_former_workers = db.Table(  # taken off a visit (re-staffed, moved to another unit): what they recorded
    "visit_former_workers",        # offline for it before they knew still delivers
    db.Column("visit_id", db.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    db.Column("worker_id", db.ForeignKey("users.id"), primary_key=True, index=True),
)


class Visit(db.Model):
    __tablename__ = "visits"
    id = db.Column(Integer, primary_key=True)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    client_id = db.Column(db.ForeignKey("clients.id"), nullable=False, index=True)
    planned_start = db.Column(UTCDateTime, nullable=False)
    planned_end = db.Column(UTCDateTime, nullable=False)
    instructions = db.Column(Text)
    cancelled = db.Column(db.Boolean, nullable=False, default=False)  # never deleted: records may refer to it
    revision = db.Column(Integer, nullable=False, default=0, server_default="0")  # moved, re-staffed, cancelled
    external_id = db.Column(String(64), unique=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    client = db.relationship(Client)
    workers = db.relationship(User, secondary=visit_workers, order_by=User.id)
    interventions = db.relationship(CarePlanIntervention, secondary=visit_interventions,
                                    order_by=CarePlanIntervention.id)

    __table_args__ = (db.Index("ix_visits_unit_start", "unit_id", "planned_start"),)


class Event(db.Model):
    """The append-only log of what devices (and administrators' backfills) recorded."""

    __tablename__ = "events"
    seq = db.Column(BigId, primary_key=True, autoincrement=True)  # arrival order
    id = db.Column(String(36), nullable=False, unique=True)  # made on the device: exactly-once key
    type = db.Column(String(32), nullable=False)
    source = db.Column(String(16), nullable=False, default="device")
    device_id = db.Column(String(64))
    user_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)  # whose record it is
    recorded_by = db.Column(db.ForeignKey("users.id"))  # an administrator, for backfills
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False)
    visit_id = db.Column(Integer)  # indexed with user_id (ix_events_visit_user, dashboard/models.py)
    client_id = db.Column(Integer)
    device_seq = db.Column(BigInteger)
    occurred_at = db.Column(UTCDateTime, nullable=False)
    occurred_at_raw = db.Column(String(40), nullable=False)  # exactly as the device wrote it
    occurred_at_corrected = db.Column(UTCDateTime, nullable=False)
    skew_seconds = db.Column(db.Float, nullable=False, default=0.0)
    skew_flagged = db.Column(db.Boolean, nullable=False, default=False)
    payload = db.Column(Json, nullable=False)
    fingerprint = db.Column(String(64), nullable=False)  # to tell a resend from a reused id
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (db.Index("ix_events_unit_received", "unit_id", "received_at"),)


class Registration(db.Model):
    """Projection: a worker's start and end of a visit, rebuilt from the log by replay."""

    __tablename__ = "registrations"
    id = db.Column(Integer, primary_key=True)
    visit_id = db.Column(db.ForeignKey("visits.id"), nullable=False)
    worker_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)
    started_at = db.Column(UTCDateTime)
    started_key = db.Column(String(96))
    started_source = db.Column(String(16))
    ended_at = db.Column(UTCDateTime)
    ended_key = db.Column(String(96))
    ended_source = db.Column(String(16))

    __table_args__ = (db.UniqueConstraint("visit_id", "worker_id", name="uq_registrations_visit_worker"),)


class InterventionRecord(db.Model):
    """Projection: done / not done per visit, worker and planned intervention."""

    __tablename__ = "intervention_records"
    id = db.Column(Integer, primary_key=True)
    visit_id = db.Column(db.ForeignKey("visits.id"), nullable=False)
    worker_id = db.Column(db.ForeignKey("users.id"), nullable=False)
    intervention_id = db.Column(db.ForeignKey("care_plan_interventions.id"), nullable=False)
    status = db.Column(String(16), nullable=False)
    reason = db.Column(String(32))
    comment = db.Column(Text)
    key = db.Column(String(96), nullable=False)
    source = db.Column(String(16), nullable=False)

    __table_args__ = (db.UniqueConstraint("visit_id", "worker_id", "intervention_id",
                                          name="uq_intervention_records_vwi"),)


class QuarantinedEvent(db.Model):
    """A record the server would not apply: kept with its reason until someone re-applies or dismisses it."""

    __tablename__ = "quarantined_events"
    id = db.Column(String(36), primary_key=True)
    device_id = db.Column(String(64))
    user_id = db.Column(db.ForeignKey("users.id"), nullable=False)
    unit_id = db.Column(db.ForeignKey("units.id"), nullable=False, index=True)
    type = db.Column(String(32), nullable=False)
    raw = db.Column(Json, nullable=False)
    code = db.Column(String(32), nullable=False)
    message = db.Column(Text, nullable=False)
    skew_seconds = db.Column(db.Float, nullable=False, default=0.0)
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    state = db.Column(String(16), nullable=False, default="open")
    resolved_by = db.Column(db.ForeignKey("users.id"))
    resolved_at = db.Column(UTCDateTime)
    resolution_note = db.Column(Text)


class AccessLog(db.Model):
    """Who read which client's record, when, from where (HSLF-FS 2016:40 4 kap. 9 §); kept ≥ 5 years."""

    __tablename__ = "access_log"
    id = db.Column(BigId, primary_key=True, autoincrement=True)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    user_id = db.Column(db.ForeignKey("users.id"))
    unit_id = db.Column(db.ForeignKey("units.id"))
    client_id = db.Column(Integer)
    action = db.Column(String(200), nullable=False)  # "METHOD /path" of a refused request fits
    outcome = db.Column(String(16), nullable=False, default="allowed")
    device_id = db.Column(String(64))
    offline = db.Column(db.Boolean, nullable=False, default=False)  # recorded on the phone, synced later
    event_id = db.Column(String(36))  # the client_record_opened event, when from a device: logged once (below)
    detail = db.Column(String(200))
    logged_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    # The review counts a client's or a person's rows over years from these indexes alone (0016).
    __table_args__ = (db.Index("ix_access_log_client_at", "client_id", "at",
                               postgresql_include=["outcome", "offline"]),
                      db.Index("ix_access_log_user_at", "user_id", "at", postgresql_include=["outcome", "offline"]),
                      # PostgreSQL partitions the log by month (0011), and every unique key of a partitioned
                      # table holds the partition key; a record's `at` is the same whenever it is sent again.
                      db.UniqueConstraint("event_id", "at", name="uq_access_log_event_id"))


class LoginFailure(db.Model):
    """Failed logins, counted per username and per address to slow down password guessing."""

    __tablename__ = "login_failures"
    id = db.Column(Integer, primary_key=True)
    username = db.Column(String(64), nullable=False, index=True)
    remote_addr = db.Column(String(64), nullable=False, index=True)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)


from .importer import models as _importer_models  # noqa: E402,F401  (integration tokens, audit trail)
from .dashboard import models as _dashboard_models  # noqa: E402,F401  (the dashboards' tables)
from .notify import models as _notify_models  # noqa: E402,F401  (Web Push subscriptions and outbox)
from .outages import models as _outage_models  # noqa: E402,F401  (outages, gaps, absences, rule settings)
from .jobs import Job as _Job  # noqa: E402,F401  (the background jobs' schedule and run history)
from .access_log_retention import AccessLogRemoval as _Removal  # noqa: E402,F401  (retention's record)
