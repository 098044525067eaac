"""One-time enrolment codes: how a person without a password (every imported person: password "!") gets in,
and how an administrator resets a lost or leaked password. docs/security.md, "Enrolment codes".

The code is random (60 bits, shown once as XXXX-XXXX-XXXX), stored only as an HMAC under the server's secret
key, valid ENROLMENT_CODE_HOURS, and works once in place of the password at the normal login
(POST /api/auth/token); redeeming it is a compare-and-clear in one UPDATE, so two logins racing with the same
code cannot both get in."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from ..extensions import db
from ..models import User, utcnow
from . import audit

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 signs without 0/O and 1/I: 5 bits each, easy to read aloud
LENGTH = 12
NO_PASSWORD = "!"  # as the import stores it: no hash werkzeug accepts


def _digest(code):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"enrolment-code:" + code.encode(), hashlib.sha256).hexdigest()


def _normalised(typed):
    """What a person types, as the code was made: dashes and spaces dropped, upper case (ASCII only)."""
    return "".join(ch for ch in typed.upper() if ch not in "- ")


def issue(actor, user, reset_password=False):
    """Set a new code for `user` (replacing an unused one) and return (code, expires_at); the caller commits.
    `reset_password`: the old password stops working too (lost or leaked)."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    expires = utcnow() + timedelta(hours=current_app.config["ENROLMENT_CODE_HOURS"])
    before = {"enrolment_code_expires_at": user.enrolment_code_expires_at and
              user.enrolment_code_expires_at.isoformat()}
    after = {"enrolment_code_expires_at": expires.isoformat()}
    if reset_password:
        before["password"], after["password"] = "satt" if user.password_hash != NO_PASSWORD else "inget", "inget"
        user.password_hash = NO_PASSWORD
    user.enrolment_code_hash, user.enrolment_code_expires_at = _digest(code), expires
    audit.record(actor, user.unit_id, "staff", user.id, "password_reset" if reset_password else "code_set",
                 before, after, external_id=user.external_id)
    return "-".join(code[i:i + 4] for i in range(0, LENGTH, 4)), expires


def redeem(user, typed):
    """Whether `typed` is the user's unexpired code; if so it is used up (cleared), in the caller's transaction,
    with an audit row. Checked after the password failed, under the login's failure limit."""
    code = _normalised(typed)
    if (user.enrolment_code_hash is None or user.enrolment_code_expires_at is None
            or user.enrolment_code_expires_at <= utcnow() or len(code) != LENGTH or not code.isascii()
            or not hmac.compare_digest(_digest(code), user.enrolment_code_hash)):
        return False
    used = db.session.execute(
        update(User).where(User.id == user.id, User.enrolment_code_hash == user.enrolment_code_hash)
        .values(enrolment_code_hash=None, enrolment_code_expires_at=None)
        .execution_options(synchronize_session=False))
    if used.rowcount != 1:  # another login used it a moment ago
        return False
    db.session.refresh(user)
    audit.record(user, user.unit_id, "staff", user.id, "code_used", {"enrolment_code": "giltig"},
                 {"enrolment_code": "använd"}, external_id=user.external_id)
    return True
