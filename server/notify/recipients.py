"""The usual groups a notification goes to, as user ids, read in the caller's transaction."""
from sqlalchemy import select

from ..extensions import db
from ..models import User


def _ids(session, *conditions):
    session = session or db.session
    return list(session.scalars(select(User.id).where(User.active.is_(True), *conditions).order_by(User.id)))


def staff_of(unit_ids, session=None):
    """Everyone working in these units (workers, administrators, managers)."""
    return _ids(session, User.unit_id.in_(list(unit_ids)))


def admins_of(unit_id, session=None):
    return _ids(session, User.unit_id == unit_id, User.role == "admin")


def managers_of(unit_id, session=None):
    return _ids(session, User.unit_id == unit_id, User.role == "manager")
