"""A unit's visits by hand: a day's list, and one visit moved, re-staffed, cancelled or restored the way the
import changes one (server/importer/apply.py, make_visit): revision + 1 and updated_at = now, so every phone
that has it learns "ändrad"/"inställd" at its next pull — and a worker is never in two visits at once."""
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from sync.errors import Conflict, InvalidInput

from ..dashboard.queries import day_start_utc, zone
from ..assignments import restaff
from ..extensions import db
from ..importer.visits import when
from ..models import Client, User, Visit, utcnow, visit_workers
from . import audit
from .schemas import LONGEST_VISIT


def visit_out(v):
    return {"id": v.id, "external_id": v.external_id, "planned_start": v.planned_start.isoformat(),
            "planned_end": v.planned_end.isoformat(), "cancelled": v.cancelled, "revision": v.revision,
            "instructions": v.instructions, "client": {"id": v.client.id, "name": v.client.name},
            "workers": [{"id": w.id, "display_name": w.display_name, "username": w.username} for w in v.workers]}


def day_list(unit_id, day, q, limit):
    """The unit's visits starting on a local calendar day, by start; `q` narrows to a client's or a worker's
    name (or username). Returns (visits, more)."""
    start = day_start_utc(day)
    query = (select(Visit).join(Client, Client.id == Visit.client_id)
             .where(Visit.unit_id == unit_id, Visit.planned_start >= start,
                    Visit.planned_start < day_start_utc(day + timedelta(days=1))))
    if q:
        worker = (select(visit_workers.c.visit_id).join(User, User.id == visit_workers.c.worker_id)
                  .where(or_(User.display_name.icontains(q, autoescape=True),
                             User.username.icontains(q, autoescape=True))))
        query = query.where(or_(Client.name.icontains(q, autoescape=True), Visit.id.in_(worker)))
    visits = db.session.scalars(query.options(selectinload(Visit.workers), selectinload(Visit.client))
                                .order_by(Visit.planned_start, Visit.id).limit(limit + 1)).all()
    return visits[:limit], len(visits) > limit


def staff_choices(unit_id):
    """Who a visit of the unit may be staffed with: its active workers (the import's rule too)."""
    return db.session.scalars(select(User).where(User.unit_id == unit_id, User.role == "worker",
                                                 User.active.is_(True)).order_by(User.display_name, User.id)).all()


def _local(moment):
    return moment.astimezone(zone()).strftime("%Y-%m-%d %H:%M")


def double_booking(visit, start, end, workers):
    """The first clash of one of `workers` with another visit that is not cancelled, in Swedish; else None."""
    clash = db.session.execute(
        select(User.display_name, Visit.id, Visit.external_id, Visit.planned_start, Visit.planned_end)
        .join(visit_workers, visit_workers.c.visit_id == Visit.id).join(User, User.id == visit_workers.c.worker_id)
        .where(visit_workers.c.worker_id.in_([w.id for w in workers]), Visit.id != visit.id,
               Visit.cancelled.is_(False), Visit.planned_start < end, Visit.planned_end > start)
        .order_by(Visit.planned_start, Visit.id).limit(1)).first()
    if clash is None:
        return None
    name, vid, ext, s, e = clash
    return (f"{name} är dubbelbokad: krockar med besök {ext or '#' + str(vid)} "
            f"({_local(s)}–{_local(e)[-5:]}).")


def _values(visit):
    return {"start": when(visit.planned_start), "end": when(visit.planned_end),
            "staff": [w.username for w in visit.workers], "cancelled": visit.cancelled}


def change(actor, visit, data):
    """Apply `data` (schemas.VisitIn) to `visit` in the caller's transaction, with its audit row. Returns
    whether anything changed. Raises InvalidInput (422) or Conflict (409) with a Swedish message."""
    if data["revision"] != visit.revision:
        raise Conflict("Besöket har ändrats sedan du öppnade det (t.ex. av en import). Öppna det igen.",
                       "stale_revision", {"revision": [f"Besöket har nu version {visit.revision}."]})
    start, end = data.get("start", visit.planned_start), data.get("end", visit.planned_end)
    if end <= start:
        raise InvalidInput("Sluttiden måste vara efter starttiden.", errors={"end": ["Ska vara efter starttiden."]})
    if end - start > LONGEST_VISIT:
        raise InvalidInput("Ett besök kan vara högst ett dygn.", errors={"end": ["Högst ett dygn efter start."]})
    workers = list(visit.workers)
    if "staff" in data:
        allowed = {w.id: w for w in staff_choices(visit.unit_id)}
        unknown = [i for i in data["staff"] if i not in allowed]
        if unknown:
            raise InvalidInput("Personalen måste vara aktiv vårdpersonal i besökets enhet.", errors={
                "staff": [f"Inte aktiv vårdpersonal i enheten: {', '.join(map(str, unknown))}."]})
        workers = sorted((allowed[i] for i in data["staff"]), key=lambda w: w.id)
    cancelled = data.get("cancelled", visit.cancelled)
    wanted = {"start": when(start), "end": when(end), "staff": [w.username for w in workers], "cancelled": cancelled}
    before, after = audit.changed(_values(visit), wanted)
    if not before:
        return False
    if not cancelled:
        clash = double_booking(visit, start, end, workers)
        if clash:
            raise Conflict(clash, "double_booked", {"staff": [clash]})
    visit.planned_start, visit.planned_end, visit.cancelled = start, end, cancelled
    restaff({visit.id: [w.id for w in workers]})  # those taken off still deliver what they recorded offline
    db.session.expire(visit, ["workers"])
    visit.revision = (visit.revision or 0) + 1  # the phone shows "ändrad" / "inställd"
    visit.updated_at = utcnow()  # a change of staff alone does not touch the row: the pull needs it
    action = ("cancelled" if cancelled else "restored") if "cancelled" in before else "changed"
    audit.record(actor, visit.unit_id, "visit", visit.id, action, before, after, external_id=visit.external_id)
    return True
