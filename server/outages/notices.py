"""The outage area's door to Web Push (issue 6): who is told, enqueued in the caller's transaction, so a
notification is sent only if the fact that caused it is committed."""
from .. import notify as push
from ..extensions import db


def notify(kind, recipients, data=None, dedupe_key=None):
    if not recipients:
        return 0
    return push.enqueue(kind, recipients, data or {}, db.session, dedupe_key=dedupe_key)


def admins(unit_ids):
    return [user_id for unit_id in unit_ids for user_id in push.admins_of(unit_id, db.session)]


def managers(unit_ids):
    return [user_id for unit_id in unit_ids for user_id in push.managers_of(unit_id, db.session)]


def staff(unit_ids):
    return push.staff_of(unit_ids, db.session)
