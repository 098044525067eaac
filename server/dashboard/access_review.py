"""The access-log review (HSLF-FS 2016:40): who opened which client's record, counted and listed for a unit's
own clients and people — another unit's shown by id alone — and the documented checks of the log."""
from sqlalchemy import and_, case, func, or_, select, true

from ..extensions import db
from ..models import AccessLog, Client, Unit, User
from .models import AccessCheck


def unit_client_ids(unit_id):
    return select(Client.id).where(Client.unit_id == unit_id)


def access_log_parts(unit_id, start, end, client_id=None, user_id=None, outcome=None):
    """The access-log rows a unit's reviewer sees in [start, end), as disjoint conditions (counted one by one,
    each over its own index, and OR-ed for the list).

    Narrowed to a client or a user (the caller checked they are the unit's): every row about that client or
    by that person. Otherwise: everything done by the unit's people, and refused attempts by anyone else on
    the unit's clients (the only way another unit's account touches them: reads are unit-scoped).
    """
    period = [AccessLog.at >= start, AccessLog.at < end]
    if outcome:
        period.append(AccessLog.outcome == outcome)
    if client_id is not None or user_id is not None:
        conds = list(period)
        if client_id is not None:
            conds.append(AccessLog.client_id == client_id)
        if user_id is not None:
            conds.append(AccessLog.user_id == user_id)
        return [and_(*conds)]
    own = and_(AccessLog.unit_id == unit_id, *period)
    refused = and_(AccessLog.outcome == "denied", AccessLog.client_id.in_(unit_client_ids(unit_id)),
                   or_(AccessLog.unit_id != unit_id, AccessLog.unit_id.is_(None)), *period)
    return [own] if outcome == "allowed" else [own, refused]


def access_log_rows(unit_id, where, limit=None, before=None):
    """The log joined with names: who, which client, what, when, which device, online or offline, which unit.

    Names and personal numbers only of the viewer's own unit (`unit_id`): a refused reach into another unit's
    client, or another unit's person refused at ours, shows that client or person by id alone, so reviewing a
    denial never reveals what was denied. `unit_id` None: every unit's names (the retention archive, written for
    the operator, never an answer to a user). Newest first; `before`: (at, id) of the last row of the previous
    page — the rows after it, by a bound on `at` that the partitions and the indexes narrow to at once."""
    accessor, client_unit = User.__table__.alias("accessor"), Unit.__table__.alias("log_unit")
    stmt = (select(AccessLog.id, AccessLog.at, AccessLog.user_id, accessor.c.username, accessor.c.display_name,
                   AccessLog.client_id, Client.name, Client.personal_number, AccessLog.action, AccessLog.outcome,
                   AccessLog.device_id, AccessLog.offline, client_unit.c.name, AccessLog.detail,
                   accessor.c.unit_id, Client.unit_id)
            .select_from(AccessLog)
            .outerjoin(accessor, accessor.c.id == AccessLog.user_id)
            .outerjoin(Client, Client.id == AccessLog.client_id)
            .outerjoin(client_unit, client_unit.c.id == AccessLog.unit_id)
            .where(where).order_by(AccessLog.at.desc(), AccessLog.id.desc()))
    if before is not None:
        stmt = stmt.where(AccessLog.at <= before[0], or_(AccessLog.at < before[0], AccessLog.id < before[1]))
    if limit is not None:
        stmt = stmt.limit(limit)
    for r in db.session.execute(stmt.execution_options(yield_per=1000)):  # streamed: a month's export in bounded memory
        yield {"id": r[0], "at": r[1], "user": _accessor(r[2], r[3], r[4], unit_id in (None, r[14])),
               "client": _logged_client(r[5], r[6], r[7], unit_id in (None, r[15])),
               "action": r[8], "outcome": r[9], "device_id": r[10], "offline": r[11], "unit": r[12],
               "detail": r[13]}


def _accessor(user_id, username, display_name, own_unit):
    if user_id is None:
        return None
    if not own_unit:
        return {"id": user_id, "username": None, "display_name": None, "other_unit": True}
    return {"id": user_id, "username": username, "display_name": display_name, "other_unit": False}


def _logged_client(client_id, name, personal_number, own_unit):
    if client_id is None:
        return None
    if not own_unit:  # another unit's client (or one that no longer exists): the id is all the review may show
        return {"id": client_id, "name": None, "personal_number": None, "other_unit": True}
    return {"id": client_id, "name": name, "personal_number": personal_number, "other_unit": False}


def access_log_counts(parts):
    """Totals over disjoint parts, each an aggregate the database answers from one index."""
    totals = {"total": 0, "denied": 0, "offline": 0}
    for where in parts:
        row = db.session.execute(select(func.count(), func.count(case((AccessLog.outcome == "denied", 1))),
                                        func.count(case((AccessLog.offline.is_(true()), 1))))
                                 .select_from(AccessLog).where(where)).one()
        for key, value in zip(("total", "denied", "offline"), row):
            totals[key] += value
    return totals


def access_checks(unit_id, limit=20):
    rows = db.session.execute(
        select(AccessCheck, User.display_name).join(User, User.id == AccessCheck.checked_by)
        .where(AccessCheck.unit_id == unit_id).order_by(AccessCheck.checked_at.desc()).limit(limit)).all()
    return [{"id": c.id, "checked_at": c.checked_at, "checked_by": {"id": c.checked_by, "display_name": name},
             "period_from": c.period_from, "period_to": c.period_to, "client_id": c.client_id,
             "user_id": c.user_id, "rows_reviewed": c.rows_reviewed, "denied_reviewed": c.denied_reviewed,
             "note": c.note} for c, name in rows]


# -- registrations export ------------------------------------------------------------------------------------
