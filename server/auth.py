"""Signed device tokens (itsdangerous) bound to a user and a device, and the decorator that checks them."""
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache, wraps

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import text
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .access_log import log_denied
from .errors import ApiError
from .extensions import db
from .manage import enrolment
from .models import Device, LoginFailure, User, utcnow

SCOPES = ("full", "push")


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hemvard-device-token")


def issue_token(user, device, scope="full"):
    return _serializer().dumps({"u": user.id, "d": device.id, "g": device.token_generation, "s": scope})


def token_expiry(issued_at):
    return issued_at + timedelta(seconds=current_app.config["TOKEN_MAX_AGE"])


def _unauthorized(code, message, **extra):
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"}, **extra)


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
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise _unauthorized("token_expired", "Inloggningen har gått ut. Logga in igen.")
    except BadSignature:
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    if not isinstance(data, dict) or data.get("s") not in SCOPES or not isinstance(data.get("d"), str):
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    return Claims(data.get("u"), data["d"], data.get("g"), data["s"])


def _check(claims, device, user, scope_needed, delivery=False):
    if device is None or device.user_id != claims.user_id or device.token_generation != claims.generation:
        raise _unauthorized("token_invalid", "Ogiltig inloggning.")
    if not user.active and not delivery:
        raise _unauthorized("token_invalid", "Kontot är inaktiverat.")
    if scope_needed == "full" and claims.scope != "full":
        raise _unauthorized("scope", "Den här inloggningen får bara lämna in registreringar.")
    return user, device, claims.scope


def authenticate(token, scope_needed, delivery=False):
    """Return (user, device, scope) for a valid token, else raise a 401 that says exactly why. `delivery`:
    the push, which takes in what a phone holds even when its worker has been deactivated since."""
    claims = verify_token(token)
    device, user = _load(claims.device_id)
    return _check(claims, device, user, scope_needed, delivery)


def _refusal(user, device, roles, delivery):
    """Why a valid token's user and device may not pass: "revoked", "role", or None (they may)."""
    if device.revoked_at is not None and not delivery:
        return "revoked"
    return "role" if user.role not in roles else None


def _admit(user, device, token_scope, roles, delivery):
    refusal = _refusal(user, device, roles, delivery)
    if refusal == "revoked":
        raise _unauthorized("device_revoked", "Enheten är spärrad. Uppgifterna på den raderas.", wipe=True)
    if refusal == "role":
        log_denied(user, None, f"{request.method} {request.path}", device_id=device.id, detail="role")
        raise ApiError(403, "forbidden", "Din roll har inte behörighet till detta.")
    g.user, g.device, g.token_scope = user, device, token_scope


def require_auth(roles=("worker", "admin", "manager"), scope="full", delivery=False):
    """Guard a view: valid token of the right scope, a live device, one of `roles` (else 403, logged).
    `delivery` (the push only): a revoked phone and a deactivated worker may still hand in what the phone
    holds — the revoked phone's records go to quarantine, the deactivated worker's are checked as any."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise _unauthorized("token_missing", "Inloggning krävs.")
            _admit(*authenticate(header[7:].strip(), scope, delivery), roles, delivery)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def check_login(username, password, remote_addr):
    """Verify a password, counting failures per user and per address so guessing is slowed down.

    Every attempt takes a slot among the failures before its password is checked, and does so while it holds
    the locks of its username and address, so parallel guesses cannot all read the same count: the limit is exact. A correct
    password gives its slot back. An unknown username is checked against a dummy hash, so that it costs as
    long as a wrong password and the answer's time does not tell which usernames exist. An administrator's
    one-time enrolment code works once in place of the password (server/manage/enrolment.py)."""
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
    password_ok = check_password_hash(user.password_hash if known else _dummy_hash(), password) and known
    if not password_ok and not (known and enrolment.redeem(user, password)):  # a one-time code, used up
        raise ApiError(401, "invalid_credentials", "Fel användarnamn eller lösenord.")
    db.session.delete(attempt)
    if password_ok:
        db.session.commit()
    # else a code was used: that is committed with the login that used it (the route's commit), so a login
    # refused after this (a device id taken: 409, and the app retries with a new one) leaves the code unused
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
