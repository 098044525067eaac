"""Signed device tokens (itsdangerous) bound to a user and a device, and the decorator that checks them."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Optional

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import text
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from .access_log import log_denied
from .errors import ApiError
from .extensions import db
from .models import Device, LoginFailure, User, UTCDateTime, utcnow

SCOPES = ("full", "push")


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hemvard-device-token")


def issue_token(user, device, scope="full"):
    return _serializer().dumps({"u": user.id, "d": device.id, "g": device.token_generation, "s": scope})


def token_expiry(issued_at):
    return issued_at + timedelta(seconds=current_app.config["TOKEN_MAX_AGE"])


def _unauthorized(code, message, **extra):
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"}, **extra)


@dataclass(frozen=True)
class Principal:
    """The user behind a token, as plain values (the `lite` path: no ORM object, no relationships)."""

    id: int
    unit_id: int
    role: str
    active: bool


@dataclass(frozen=True)
class DeviceRef:
    id: str
    user_id: int
    unit_id: int
    revoked_at: Optional[datetime]
    token_generation: int


# The push endpoint runs this on every request: one plain query instead of loading two ORM objects.
_DEVICE_AND_USER = text("""
    SELECT d.id, d.user_id, d.unit_id, d.revoked_at, d.token_generation, u.unit_id AS user_unit_id, u.role, u.active
    FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = :id
""").columns(revoked_at=UTCDateTime)


def _load(device_id, lite):
    if not isinstance(device_id, str):
        return None, None
    if not lite:
        device = db.session.get(Device, device_id, options=[joinedload(Device.user)])  # one round trip
        return (device, device.user) if device is not None else (None, None)
    row = db.session.execute(_DEVICE_AND_USER, {"id": device_id}).first()
    if row is None:
        return None, None
    return (DeviceRef(row.id, row.user_id, row.unit_id, row.revoked_at, row.token_generation),
            Principal(row.user_id, row.user_unit_id, row.role, bool(row.active)))


def authenticate(token, scope_needed, lite=False):
    """Return (user, device, scope) for a valid token, else raise a 401 that says exactly why.

    `lite`: the user and device as plain values (Principal, DeviceRef) for views that only read ids,
    unit, role and revocation — the push path."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise _unauthorized("token_expired", "Inloggningen har gått ut. Logga in igen.")
    except BadSignature:
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    if not isinstance(data, dict) or data.get("s") not in SCOPES:
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    device, user = _load(data.get("d"), lite)
    if device is None or device.user_id != data.get("u") or device.token_generation != data.get("g"):
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    if not user.active:
        raise _unauthorized("token_invalid", "Kontot är inaktiverat.")
    if scope_needed == "full" and data["s"] != "full":
        raise _unauthorized("scope", "Den här inloggningen får bara lämna in registreringar.")
    return user, device, data["s"]


def require_auth(roles=("worker", "admin", "manager"), scope="full", allow_revoked=False, lite=False):
    """Guard a view: valid token of the right scope, a live device, one of `roles` (else 403, logged).
    With `lite`, g.user and g.device are plain values (see authenticate)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise _unauthorized("token_missing", "Inloggning krävs.")
            user, device, token_scope = authenticate(header[7:].strip(), scope, lite)
            if device.revoked_at is not None and not allow_revoked:
                raise _unauthorized("device_revoked", "Enheten är spärrad. Uppgifterna på den raderas.", wipe=True)
            if user.role not in roles:
                log_denied(user, None, f"{request.method} {request.path}", device_id=device.id, detail="role")
                db.session.commit()
                raise ApiError(403, "forbidden", "Din roll har inte behörighet till detta.")
            g.user, g.device, g.token_scope = user, device, token_scope
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def check_login(username, password, remote_addr):
    """Verify a password, counting failures per user and per address so guessing is slowed down."""
    cfg = current_app.config
    since = utcnow() - timedelta(seconds=cfg["LOGIN_FAILURE_WINDOW"])
    by_user = db.session.query(LoginFailure).filter(LoginFailure.username == username,
                                                    LoginFailure.at >= since).count()
    by_addr = db.session.query(LoginFailure).filter(LoginFailure.remote_addr == remote_addr,
                                                    LoginFailure.at >= since).count()
    if by_user >= cfg["LOGIN_MAX_FAILURES"] or by_addr >= 3 * cfg["LOGIN_MAX_FAILURES"]:
        raise ApiError(429, "too_many_attempts", "För många misslyckade inloggningar. Försök igen senare.",
                       headers={"Retry-After": str(cfg["LOGIN_FAILURE_WINDOW"])})
    user = db.session.query(User).filter_by(username=username).one_or_none()
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        db.session.add(LoginFailure(username=username, remote_addr=remote_addr))
        db.session.commit()
        raise ApiError(401, "invalid_credentials", "Fel användarnamn eller lösenord.")
    return user
