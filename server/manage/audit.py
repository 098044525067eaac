"""The audit trail of changes made by hand: one row per change, in the change's own transaction, and one
object's trail as its page shows it. The rows are the import's (`AuditEntry`): one trail for every door."""
from sqlalchemy import select

from ..extensions import db
from ..importer.models import AuditEntry
from ..models import utcnow

TRAIL_LISTED = 100  # the most recent entries shown on an object's page


def record(actor, unit_id, entity, entity_id, action, before, after, external_id=None):
    """Add the row to the caller's transaction. `before`/`after` hold the changed fields only — never a
    password or an enrolment code (say "satt", "återställt" instead)."""
    db.session.add(AuditEntry(at=utcnow(), actor=actor.username, actor_user_id=actor.id, unit_id=unit_id,
                              entity=entity, entity_id=entity_id, external_id=external_id, action=action,
                              before=before, after=after))


def entry_out(e):
    return {"at": e.at.isoformat(), "actor": e.actor, "entity": e.entity, "entity_id": e.entity_id,
            "external_id": e.external_id, "action": e.action, "before": e.before, "after": e.after}


def trail(unit_id, entities, entity_id):
    """The unit's entries about one object (every door: imports, tokens, by hand), newest first."""
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity.in_(entities), AuditEntry.entity_id == entity_id,
                                 AuditEntry.unit_id == unit_id)
        .order_by(AuditEntry.id.desc()).limit(TRAIL_LISTED))
    return [entry_out(e) for e in entries]


def changed(obj_values, wanted):
    """(before, after) of the fields in `wanted` whose value differs from `obj_values`; ({}, {}) if none."""
    before = {k: obj_values[k] for k, v in wanted.items() if obj_values[k] != v}
    return before, {k: wanted[k] for k in before}
