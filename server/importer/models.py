"""Tables of the import area: integration tokens (a planning system's key, per set of units) and the audit trail."""
from sqlalchemy import Integer, String

from ..extensions import db
from ..models import BigId, Json, UTCDateTime, utcnow

integration_token_units = db.Table(
    "integration_token_units",
    db.Column("token_id", db.ForeignKey("integration_tokens.id", ondelete="CASCADE"), primary_key=True),
    db.Column("unit_id", db.ForeignKey("units.id"), primary_key=True, index=True),
)


class IntegrationToken(db.Model):
    """A machine's key to POST /api/integration/import for its units; only a hash of the secret is stored."""

    __tablename__ = "integration_tokens"
    id = db.Column(Integer, primary_key=True)
    name = db.Column(String(120), nullable=False)
    secret_hash = db.Column(String(64), nullable=False, unique=True)  # sha256 of a 256-bit random secret
    hint = db.Column(String(16), nullable=False)  # the first characters, so people can tell tokens apart
    created_by = db.Column(db.ForeignKey("users.id"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    revoked_by = db.Column(db.ForeignKey("users.id"))
    revoked_at = db.Column(UTCDateTime)
    last_used_at = db.Column(UTCDateTime)
    units = db.relationship("Unit", secondary=integration_token_units, order_by="Unit.id")


class AuditEntry(db.Model):
    """Who changed what, when, with the values before and after (imports, integration tokens, changes by hand)."""

    __tablename__ = "audit_trail"
    id = db.Column(BigId, primary_key=True, autoincrement=True)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    actor_user_id = db.Column(db.ForeignKey("users.id"))  # None: the command line or an integration token
    actor_token_id = db.Column(db.ForeignKey("integration_tokens.id"))
    actor = db.Column(String(120), nullable=False)  # as shown: "admin1", "integration: TES", "flask import"
    unit_id = db.Column(db.ForeignKey("units.id"), index=True)
    entity = db.Column(String(32), nullable=False)  # unit | staff | client | care_plan | medications | visit | token
    entity_id = db.Column(Integer)
    external_id = db.Column(String(64))
    action = db.Column(String(16), nullable=False)  # created | changed | cancelled | revoked; by hand: server/manage
    before = db.Column(Json)
    after = db.Column(Json)

    __table_args__ = (db.Index("ix_audit_trail_entity", "entity", "entity_id"),)  # one object's trail
