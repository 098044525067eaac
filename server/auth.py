"""Signed device tokens (itsdangerous) bound to a user and a device, and the decorator that checks them."""
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, wraps
from typing import Optional

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import text
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .access_log import log_denied
from .dbutil import pg_sql
from .errors import ApiError
from .extensions import db
from .models import Device, LoginFailure, User, UTCDateTime, utcnow

SCOPES = ("full", "push")


def _serializer():
    return _serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _serializer_for(secret_key):
    """One per key: building it (its signer's key derivation setup) was a tenth of a token check."""
    return URLSafeTimedSerializer(secret_key, salt="hemvard-device-token")


def issue_token(user, device, scope="full"):
    return _serializer().dumps({"u": user.id, "d": device.id, "g": device.token_generation, "s": scope})


def token_expiry(issued_at):
    return issued_at + timedelta(seconds=current_app.config["TOKEN_MAX_AGE"])


def _unauthorized(code, message, **extra):
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"}, **extra)


@dataclass(frozen=True)
class Principal:
    """The user behind a token, as plain values (the push path, DeferredAuth: no ORM object, no relationships)."""

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


# The push endpoint runs this on every request (DeferredAuth): one plain query, not two ORM objects.
_DEVICE_AND_USER = text("""
    SELECT d.id, d.user_id, d.unit_id, d.revoked_at, d.token_generation, u.unit_id AS user_unit_id, u.role, u.active
    FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = :id
""").columns(revoked_at=UTCDateTime)


_PG_DEVICE_AND_USER = pg_sql(_DEVICE_AND_USER)


def _lite(row):
    """(DeviceRef, Principal) of a _DEVICE_AND_USER row (None: no such device)."""
    if row is None:
        return None, None
    device_id, user_id, unit_id, revoked_at, generation, user_unit_id, role, active = row
    return (DeviceRef(device_id, user_id, unit_id, revoked_at, generation),
            Principal(user_id, user_unit_id, role, bool(active)))


def _load(device_id):
    device = db.session.get(Device, device_id, options=[joinedload(Device.user)])  # one round trip
    return (device, device.user) if device is not None else (None, None)


@dataclass(frozen=True)
class Claims:
    """What a token with a valid signature says: checked against the database before anything is answered."""

    user_id: int
    device_id: str
    generation: int
    scope: str


def verify_token(token):
    """The claims of a token whose signature and age are valid, else a 401 that says why. Not enough on its
    own: the device may since have been revoked or re-enrolled (see authenticate)."""
    try:
        claims, signed_at = _signed_claims(current_app.config["SECRET_KEY"], token)
    except BadSignature:
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    age = int(time.time()) - signed_at  # as itsdangerous reckons it (whole seconds)
    if age > current_app.config["TOKEN_MAX_AGE"] or age < 0:
        raise _unauthorized("token_expired", "Inloggningen har gått ut. Logga in igen.")
    return claims


@lru_cache(maxsize=4096)
def _signed_claims(secret_key, token):
    """(Claims, when it was signed as a Unix time) of a token whose signature is valid under `secret_key`, any
    age; raises BadSignature. Kept per token string: a phone sends the same token with every request for
    hours, and checking its signature and decoding it anew was a tenth of the server's work on a push of one.
    What a signature proves of the same string does not change, so only the age is judged on every use (in
    verify_token); a refused token is not kept, and a new SECRET_KEY is a new key here."""
    data, signed_at = _serializer_for(secret_key).loads(token, return_timestamp=True)
    if not isinstance(data, dict) or data.get("s") not in SCOPES or not isinstance(data.get("d"), str):
        raise BadSignature("not a device token")
    return Claims(data.get("u"), data["d"], data.get("g"), data["s"]), int(signed_at.timestamp())


def _check(claims, device, user, scope_needed):
    if device is None or device.user_id != claims.user_id or device.token_generation != claims.generation:
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    if not user.active:
        raise _unauthorized("token_invalid", "Kontot är inaktiverat.")
    if scope_needed == "full" and claims.scope != "full":
        raise _unauthorized("scope", "Den här inloggningen får bara lämna in registreringar.")
    return user, device, claims.scope


def authenticate(token, scope_needed):
    """Return (user, device, scope) for a valid token, else raise a 401 that says exactly why."""
    claims = verify_token(token)
    device, user = _load(claims.device_id)
    return _check(claims, device, user, scope_needed)


def _refusal(user, device, roles, allow_revoked):
    """Why a valid token's user and device may not pass: "revoked", "role", or None (they may)."""
    if device.revoked_at is not None and not allow_revoked:
        return "revoked"
    return "role" if user.role not in roles else None


def _admit(user, device, token_scope, roles, allow_revoked):
    refusal = _refusal(user, device, roles, allow_revoked)
    if refusal == "revoked":
        raise _unauthorized("device_revoked", "Enheten är spärrad. Uppgifterna på den raderas.", wipe=True)
    if refusal == "role":
        log_denied(user, None, f"{request.method} {request.path}", device_id=device.id, detail="role")
        db.session.commit()
        raise ApiError(403, "forbidden", "Din roll har inte behörighet till detta.")
    g.user, g.device, g.token_scope = user, device, token_scope


class DeferredAuth:
    """The push path's authentication in two halves, so that its database half can share a round trip
    with the push's own first statements. The token's signature is checked before the view runs (`claims`);
    the view then runs PG_QUERY with `params` among its own statements and hands the row (None if there
    was none: a 401) to `admit`, which checks it exactly as require_auth does, with the user and device
    as plain values (Principal, DeviceRef), and sets g.user and g.device — or raises 401/403."""

    PG_QUERY = _PG_DEVICE_AND_USER
    QUERY = _DEVICE_AND_USER  # the same, for SQLAlchemy

    def __init__(self, claims, scope, roles, allow_revoked):
        self.claims, self._scope, self._roles, self._allow_revoked = claims, scope, roles, allow_revoked
        self.params = {"id": claims.device_id}

    def admit(self, row):
        device, user = _lite(row)
        _admit(*_check(self.claims, device, user, self._scope), self._roles, self._allow_revoked)
        return g.user, g.device

    def admits(self, row):
        """What `admit` would decide for the row, without its side effects (g, a refused role's access-log row):
        (user, device) if it lets them in, else None."""
        device, user = _lite(row)
        try:
            user, device, _ = _check(self.claims, device, user, self._scope)
        except ApiError:
            return None
        return None if _refusal(user, device, self._roles, self._allow_revoked) else (user, device)

    def admit_from_query(self):
        """The database half on its own (one query), for when the view has nothing to share it with."""
        return self.admit(db.session.execute(_DEVICE_AND_USER, self.params).first())


def require_auth(roles=("worker", "admin", "manager"), scope="full", allow_revoked=False, deferred=False):
    """Guard a view: valid token of the right scope, a live device, one of `roles` (else 403, logged).
    With `deferred`, only the signature is checked before the view, which must finish with g.auth (a
    DeferredAuth) before it reads or writes anything for the caller."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise _unauthorized("token_missing", "Inloggning krävs.")
            if deferred:
                g.auth = DeferredAuth(verify_token(header[7:].strip()), scope, roles, allow_revoked)
                return view(*args, **kwargs)
            _admit(*authenticate(header[7:].strip(), scope), roles, allow_revoked)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def check_login(username, password, remote_addr):
    """Verify a password, counting failures per user and per address so guessing is slowed down.

    Every attempt takes a slot among the failures before its password is checked, and does so while it holds
    the locks of its username and address, so parallel guesses cannot all read the same count: the limit is exact. A correct
    password gives its slot back. An unknown username is checked against a dummy hash, so that it costs as
    long as a wrong password and the answer's time does not tell which usernames exist."""
    cfg = current_app.config
    _lock_failure_counts(username, remote_addr)
    since = utcnow() - timedelta(seconds=cfg["LOGIN_FAILURE_WINDOW"])
    by_user = db.session.query(LoginFailure).filter(LoginFailure.username == username,
                                                    LoginFailure.at >= since).count()
    by_addr = db.session.query(LoginFailure).filter(LoginFailure.remote_addr == remote_addr,
                                                    LoginFailure.at >= since).count()
    if by_user >= cfg["LOGIN_MAX_FAILURES"] or by_addr >= 3 * cfg["LOGIN_MAX_FAILURES"]:
        db.session.rollback()  # releases the lock
        raise ApiError(429, "too_many_attempts", "För många misslyckade inloggningar. Försök igen senare.",
                       headers={"Retry-After": str(cfg["LOGIN_FAILURE_WINDOW"])})
    attempt = LoginFailure(username=username, remote_addr=remote_addr)
    db.session.add(attempt)
    db.session.commit()  # the slot is taken and the lock released before the (slow) hash is checked
    user = db.session.query(User).filter_by(username=username).one_or_none()
    known = user is not None and user.active
    if not check_password_hash(user.password_hash if known else _dummy_hash(), password) or not known:
        raise ApiError(401, "invalid_credentials", "Fel användarnamn eller lösenord.")
    db.session.delete(attempt)
    db.session.commit()
    return user


# Advisory-lock namespace of the login counter (the first key of pg_advisory_xact_lock's two).
_LOGIN_LOCK_CLASS = 2727


def _lock_failure_counts(username, remote_addr):
    """Hold, until this transaction ends, the right to count and add failures of `username` and of `remote_addr`:
    PostgreSQL, an advisory lock for each (always the username's first, so two attempts never wait on each
    other crosswise); SQLite, its one write lock (BEGIN IMMEDIATE, before the counts are read)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        for key in (f"user:{username}", f"addr:{remote_addr}"):
            conn.execute(text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"),
                         {"cls": _LOGIN_LOCK_CLASS, "key": key})
        return
    raw = conn.connection.driver_connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


@lru_cache(maxsize=1)
def _dummy_hash():
    """A hash of no one's password, made as users' passwords are (werkzeug's default method and cost)."""
    return generate_password_hash(secrets.token_urlsafe(16))
