"""A unit's clients and staff by hand: search, the fields shown and changed, a person's devices. Each change is
made in the caller's transaction with its audit row (before and after of the changed fields)."""
from sqlalchemy import func, or_, select

from sync.errors import Conflict, InvalidInput

from ..extensions import db
from ..importer.fields import personal_number
from ..models import Client, Device, User, utcnow
from . import audit
from .enrolment import NO_PASSWORD


def _like(column, q):
    return column.icontains(q, autoescape=True)


def find_clients(unit_id, q, limit):
    """The unit's clients whose name, personal number (with or without the dash), key reference or external id
    contains `q`, by name. Returns (clients, more)."""
    query = select(Client).where(Client.unit_id == unit_id)
    if q:
        matches = [_like(Client.name, q), _like(Client.key_reference, q), _like(Client.external_id, q)]
        if q.replace("-", ""):  # a personal number is found with or without its dash
            matches.append(_like(func.replace(Client.personal_number, "-", ""), q.replace("-", "")))
        query = query.where(or_(*matches))
    found = db.session.scalars(query.order_by(Client.name, Client.id).limit(limit + 1)).all()
    return found[:limit], len(found) > limit


def client_values(c):
    card = c.person_card or {}
    return {"name": c.name, "personal_number": c.personal_number, "address": c.address, "phone": c.phone,
            "key_ref": c.key_reference, "key_note": c.key_note, "notes": card.get("notes"),
            "care_plan_summary": c.care_plan_summary}


def client_out(c):
    return {"id": c.id, "external_id": c.external_id, **client_values(c), "updated_at": c.updated_at.isoformat()}


def change_client(actor, client, data):
    """Apply schemas.ClientIn's fields; an empty optional text clears it. The phones holding the client get the
    new record at their next pull (updated_at). Returns whether anything changed."""
    wanted = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}
    blank = [k for k in ("name", "address") if k in wanted and wanted[k] is None]
    if blank:
        raise InvalidInput("Namn och adress får inte vara tomma.", errors={k: ["Får inte vara tomt."] for k in blank})
    if "personal_number" in wanted:
        wanted["personal_number"] = personal_number(wanted["personal_number"])  # checked by the schema: stored form
    before, after = audit.changed(client_values(client), wanted)
    if not before:
        return False
    columns = {"name": "name", "personal_number": "personal_number", "address": "address", "phone": "phone",
               "key_ref": "key_reference", "key_note": "key_note", "care_plan_summary": "care_plan_summary"}
    for field, value in after.items():
        if field == "notes":
            client.person_card = {**(client.person_card or {}), "notes": value}
        else:
            setattr(client, columns[field], value)
    client.updated_at = utcnow()
    audit.record(actor, client.unit_id, "client", client.id, "changed", before, after, external_id=client.external_id)
    return True


def find_staff(unit_id, q, limit):
    """The unit's staff (every role) whose name, username or external id contains `q`. Returns (users, more)."""
    query = select(User).where(User.unit_id == unit_id)
    if q:
        query = query.where(or_(_like(User.display_name, q), _like(User.username, q), _like(User.external_id, q)))
    found = db.session.scalars(query.order_by(User.display_name, User.id).limit(limit + 1)).all()
    return found[:limit], len(found) > limit


def staff_out(u):
    code_until = u.enrolment_code_expires_at
    return {"id": u.id, "external_id": u.external_id, "username": u.username, "display_name": u.display_name,
            "role": u.role, "active": u.active, "has_password": u.password_hash != NO_PASSWORD,
            "enrolment_code_expires_at": code_until.isoformat() if code_until and code_until > utcnow() else None}


def device_out(d):
    iso = lambda moment: moment and moment.isoformat()  # noqa: E731
    return {"id": d.id, "name": d.name, "enrolled_at": iso(d.enrolled_at), "last_seen_at": iso(d.last_seen_at),
            "last_pull_at": iso(d.last_pull_at), "last_push_at": iso(d.last_push_at), "pending": d.status_pending,
            "app_version": d.status_app_version, "revoked_at": iso(d.revoked_at)}


def devices_of(user):
    """The person's phones (and browsers) enrolled in the person's unit, newest first."""
    return db.session.scalars(select(Device).where(Device.user_id == user.id, Device.unit_id == user.unit_id)
                              .order_by(Device.enrolled_at.desc(), Device.id)).all()


def change_staff(actor, user, data):
    """A name corrected, or the person deactivated or reactivated. A deactivated person's tokens are refused at
    the next request (server.auth: an inactive user is a 401 everywhere) and no login lets them in."""
    if data.get("active") is False and user.id == actor.id:
        raise Conflict("Du kan inte inaktivera ditt eget konto.", "own_account", {"active": ["Ditt eget konto."]})
    wanted = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
    if "display_name" in wanted and not wanted["display_name"]:
        raise InvalidInput("Namnet får inte vara tomt.", errors={"display_name": ["Ange ett namn."]})
    before, after = audit.changed({"display_name": user.display_name, "active": user.active}, wanted)
    if not before:
        return False
    for field, value in after.items():
        setattr(user, field, value)
    action = ("reactivated" if after["active"] else "deactivated") if "active" in after else "changed"
    audit.record(actor, user.unit_id, "staff", user.id, action, before, after, external_id=user.external_id)
    return True
