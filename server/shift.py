"""Pull: the worker's shift package — visits of today and the hours ahead, with what is needed to do them."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sync.errors import NotFound, OutOfScope

from .access_log import log_access, log_denied, log_reads
from .extensions import db
from .loop.handover import open_notes
from .models import Client, InterventionRecord, Registration, Visit, utcnow, visit_workers


def _cursor_serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hemvard-pull-cursor")


def window(now):
    """From the start of today (local time, so the morning's visits can still be registered) ahead."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    start = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tz).astimezone(timezone.utc)
    return start, now + timedelta(hours=current_app.config["SHIFT_HORIZON_HOURS"])


def read_cursor(cursor, user):
    """Return (since, previous window end) or None; a foreign or damaged cursor means a full package."""
    if not cursor:
        return None
    try:
        data = _cursor_serializer().loads(cursor)
        if data.get("u") != user.id:
            return None
        return datetime.fromisoformat(data["t"]), datetime.fromisoformat(data["e"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def client_out(c):
    card = c.person_card or {}
    return {
        "id": c.id, "name": c.name, "personal_number": c.personal_number, "address": c.address, "phone": c.phone,
        "key": {"reference": c.key_reference, "note": c.key_note},
        "person_card": {"relatives": card.get("relatives", []), "responsible_nurse": card.get("responsible_nurse"),
                        "notes": card.get("notes")},
        "care_plan": {"summary": c.care_plan_summary,
                      "interventions": [{"id": i.id, "code": i.code, "title": i.title,
                                         "planned_minutes": i.planned_minutes, "description": i.description}
                                        for i in c.interventions]},
        "medication_list": c.medication_list, "updated_at": c.updated_at,
    }


def visit_out(v):
    return {"id": v.id, "client_id": v.client_id, "planned_start": v.planned_start, "planned_end": v.planned_end,
            "instructions": v.instructions, "cancelled": v.cancelled, "revision": v.revision,
            "interventions": [{"id": i.id, "code": i.code, "title": i.title, "planned_minutes": i.planned_minutes}
                              for i in v.interventions],
            "workers": [{"id": w.id, "display_name": w.display_name} for w in v.workers]}


def own_registrations(user, visit_ids):
    """What the server already holds of this worker's registrations for these visits (the projection), so a
    phone that lost its records (a PIN wipe, a new phone) still shows what is done and nobody registers twice."""
    if not visit_ids:
        return []
    regs = {r.visit_id: {"visit_id": r.visit_id, "started_at": r.started_at, "ended_at": r.ended_at,
                         "interventions": []}
            for r in db.session.scalars(select(Registration).where(Registration.worker_id == user.id,
                                                                   Registration.visit_id.in_(visit_ids)))}
    for rec in db.session.scalars(select(InterventionRecord).where(InterventionRecord.worker_id == user.id,
                                                                   InterventionRecord.visit_id.in_(visit_ids))
                                  .order_by(InterventionRecord.intervention_id)):
        entry = regs.setdefault(rec.visit_id, {"visit_id": rec.visit_id, "started_at": None, "ended_at": None,
                                               "interventions": []})
        entry["interventions"].append({"intervention_id": rec.intervention_id, "status": rec.status,
                                       "reason": rec.reason})
    return [regs[k] for k in sorted(regs)]


def _shift_visits(user, start, end):
    """The worker's own visits of the unit overlapping [start, end): what the pull sends, and so what a worker
    may read the clients of. Cancelled visits stay in (flagged): a phone that pulled one learns it is "inställd"."""
    return (select(Visit).join(visit_workers, visit_workers.c.visit_id == Visit.id)
            .where(visit_workers.c.worker_id == user.id, Visit.unit_id == user.unit_id,
                   Visit.planned_end > start, Visit.planned_start < end))


def shift_package(user, device, cursor):
    now = utcnow()
    start, end = window(now)
    since = read_cursor(cursor, user)
    visits = db.session.execute(
        _shift_visits(user, start, end).order_by(Visit.planned_start, Visit.id)
        .options(selectinload(Visit.workers), selectinload(Visit.interventions))
    ).scalars().all()
    client_ids = sorted({v.client_id for v in visits})
    if since is None:
        sent_visits = visits
        wanted = client_ids
    else:
        changed_since, previous_end = since
        sent_visits = [v for v in visits if v.updated_at > changed_since or v.planned_start >= previous_end]
        new_clients = {v.client_id for v in sent_visits}
        wanted = [cid for cid in client_ids if cid in new_clients] + (
            db.session.execute(select(Client.id).where(Client.id.in_(client_ids), Client.updated_at > changed_since,
                                                       ~Client.id.in_(new_clients))).scalars().all()
            if client_ids else [])
    clients = db.session.execute(
        select(Client).where(Client.id.in_(wanted), Client.unit_id == user.unit_id)
        .options(selectinload(Client.interventions)).order_by(Client.id)
    ).scalars().all() if wanted else []
    handovers = open_notes(user, visits, now)  # sent whole every time: a note read by anyone drops out
    log_reads(user, sorted({c.id for c in clients} | {n["client_id"] for n in handovers}), "sync_pull",
              device_id=device.id)
    device.last_seen_at = device.last_pull_at = now
    device.copy_covers_until = end
    db.session.commit()
    return {
        "as_of": now, "full": since is None,
        "cursor": _cursor_serializer().dumps({"u": user.id, "t": now.isoformat(), "e": end.isoformat()}),
        "window": {"start": start, "end": end},
        "visit_ids": [v.id for v in visits],
        "registrations": own_registrations(user, [v.id for v in visits]),
        "visits": [visit_out(v) for v in sent_visits],
        "clients": [client_out(c) for c in clients],
        "handovers": handovers,
    }


def client_for(user, client_id):
    """One client's full record: for administrators and managers of the client's unit, for a worker only when
    the client is on one of the worker's own visits in the shift window (the pull's); else 403, logged."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise NotFound("Brukaren finns inte.")
    if client.unit_id != user.unit_id:
        log_denied(user, client_id, "read_client", detail="other_unit")
        raise OutOfScope("Brukaren hör till en annan enhet.")
    if user.role == "worker" and not _on_own_shift(user, client_id):
        log_denied(user, client_id, "read_client", detail="not_on_shift")
        raise OutOfScope("Brukaren finns inte bland dina besök under passet.")
    log_access(user, client_id, "read_client")  # committed by the route with the answer
    return client_out(client)


def _on_own_shift(user, client_id):
    start, end = window(utcnow())
    visit = db.session.execute(_shift_visits(user, start, end).where(Visit.client_id == client_id)
                               .with_only_columns(Visit.id).limit(1)).first()
    return visit is not None
