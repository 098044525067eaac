"""Who is told: the unit's managers, and a client's responsible nurse where the person card names a user."""
from sqlalchemy import select

from ..extensions import db
from ..models import Client, User
from ..notify import managers_of


def responsible_nurse(client_id):
    """The user id of the client's responsible nurse, if the person card names one by `username` who is an
    active user of the client's unit; else None (a card naming only a name and a phone is told by phone)."""
    if client_id is None:
        return None
    row = db.session.execute(select(Client.unit_id, Client.person_card).where(Client.id == client_id)).first()
    if row is None:
        return None
    nurse = (row.person_card or {}).get("responsible_nurse") or {}
    username = nurse.get("username") if isinstance(nurse, dict) else None
    if not isinstance(username, str) or not username:
        return None
    return db.session.scalar(select(User.id).where(User.username == username, User.unit_id == row.unit_id,
                                                   User.active.is_(True)))


def managers_and_nurse(unit_id, client_id):
    nurse = responsible_nurse(client_id)
    return managers_of(unit_id) + ([nurse] if nurse else [])
