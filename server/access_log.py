"""Access logging of client data (HSLF-FS 2016:40 4 kap. 9 §): who, which client, what, when, which unit."""
from flask import g, has_request_context, request

from .extensions import db
from .models import AccessLog, utcnow


def log_access(user, client_id, action, outcome="allowed", device_id=None, offline=False, at=None,
               event_id=None, detail=None):
    """Add one access-log row to the current transaction; the caller's commit makes it durable."""
    if device_id is None and has_request_context():
        device_id = getattr(request, "device_id_for_log", None) or getattr(g.get("device"), "id", None)
    action, detail = _fit(action, detail)
    db.session.add(AccessLog(at=at or utcnow(), user_id=user.id if user else None,
                             unit_id=user.unit_id if user else None, client_id=client_id, action=action,
                             outcome=outcome, device_id=device_id, offline=offline, event_id=event_id,
                             detail=detail))


def _fit(action, detail):
    """Fit the columns (PostgreSQL refuses longer text): a long "METHOD path" keeps its start as the action
    and is kept whole in the detail, so a denial with a long URL is logged instead of failing."""
    limit, detail_limit = AccessLog.__table__.c.action.type.length, AccessLog.__table__.c.detail.type.length
    if len(action) > limit:
        detail = f"{detail} {action}" if detail else action
        action = action[:limit]
    return action, detail[:detail_limit] if detail else detail


def log_reads(user, client_ids, action, device_id=None):
    """Log a read of several clients at once (a shift package) in one round trip."""
    now = utcnow()
    db.session.add_all(AccessLog(at=now, logged_at=now, user_id=user.id, unit_id=user.unit_id, client_id=cid,
                                 action=action, outcome="allowed", device_id=device_id)
                       for cid in client_ids)


def log_denied(user, client_id, action, device_id=None, detail=None):
    """Record a refusal. In a request it is written by the error handler that answers the refusal
    (server.errors.keep_denials), after the request's own work is rolled back: only the refusal is kept."""
    if has_request_context():
        g.setdefault("denials", []).append(dict(user=user, client_id=client_id, action=action,
                                                device_id=device_id,
                                                detail=detail))
        return
    log_access(user, client_id, action, outcome="denied", device_id=device_id, detail=detail)
