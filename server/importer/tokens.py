"""Integration tokens: a planning system's key for POST /api/integration/import, limited to a set of units.

Only a SHA-256 of the secret is stored (the secret is 256 random bits, so a plain hash is enough); the secret
is shown once when it is made. A token is never a person: it opens the integration door and nothing else, and
a person's login does not open that door.
"""
import hashlib
import secrets
from functools import wraps

from flask import g, request

from ..access_log import log_denied
from ..auth import authenticate
from ..errors import ApiError
from ..extensions import db
from ..models import utcnow
from .models import AuditEntry, IntegrationToken

PREFIX = "hvi_"  # tells an integration token from a person's token at a glance (and in a leaked log)


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def create(name, units, actor):
    """A new token for `units`; returns (token, secret) — the secret is not kept anywhere."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = IntegrationToken(name=name, secret_hash=digest(secret), hint=secret[:10], units=list(units),
                             created_by=actor.get("user_id"), created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    for unit in units:
        db.session.add(AuditEntry(actor=actor["name"], actor_user_id=actor.get("user_id"), unit_id=unit.id,
                                  entity="token", entity_id=token.id, action="created",
                                  after={"name": name, "hint": token.hint, "units": [u.code for u in units]}))
    return token, secret


def revoke(token, actor):
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = utcnow(), actor.get("user_id")
        for unit in token.units:
            db.session.add(AuditEntry(actor=actor["name"], actor_user_id=actor.get("user_id"), unit_id=unit.id,
                                      entity="token", entity_id=token.id, action="revoked",
                                      before={"revoked_at": None}, after={"revoked_at": token.revoked_at.isoformat()}))


def _unauthorized(code, message):
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def _refuse_person(bearer):
    """A person's token at the integration door: 401 if it is no valid login, else 403 — logged as a denial."""
    user, device, _ = authenticate(bearer, "full")
    log_denied(user, None, f"{request.method} {request.path}", device_id=device.id, detail="role")
    raise ApiError(403, "forbidden", "Den här adressen är bara för integrationer med en integrationsnyckel.")


def require_integration_token(view):
    """Guard the integration door: a live integration token (g.integration_token), never a person's login."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _unauthorized("token_missing", "Inloggning krävs.")
        bearer = header[7:].strip()
        if not bearer.startswith(PREFIX):
            _refuse_person(bearer)
        token = db.session.query(IntegrationToken).filter_by(secret_hash=digest(bearer)).one_or_none()
        if token is None:
            raise _unauthorized("token_invalid", "Okänd integrationsnyckel.")
        if token.revoked_at is not None:
            raise _unauthorized("token_revoked", "Integrationsnyckeln är återkallad.")
        token.last_used_at = utcnow()
        g.integration_token = token
        return view(*args, **kwargs)

    wrapped.required_roles = ()  # no person's role opens it (the route walk in tests/api/test_security_walk.py)
    return wrapped
