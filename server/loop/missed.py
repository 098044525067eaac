"""Missed care: planned interventions recorded "not done" (declined, client absent, other), per day for the
manager and the nurse; a medication hand-over that did not happen tells the responsible nurse at once."""
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import CarePlanIntervention, Client, InterventionRecord, User, Visit
from ..notify import enqueue, managers_of
from .people import responsible_nurse

REASON_LABELS = {"declined": "Avböjde", "client_absent": "Brukaren inte hemma", "other": "Annat"}


def is_medication(code):
    return code in current_app.config["LOOP_MEDICATION_CODES"]


def notify_medication(stored):
    """For each newly stored "not done" record of a medication hand-over (pairs of ingest.ToStore and its log
    row): tell the client's responsible nurse, or the unit's managers when the card names no nurse who is a
    user — someone must act the same day. Once per record; the text names nobody."""
    for item, row in stored:
        payload = item.event.payload
        if payload.get("status") != "not_done":
            continue
        found = db.session.execute(select(CarePlanIntervention.code, Visit.client_id, Visit.planned_start)
                                   .join(Visit, Visit.client_id == CarePlanIntervention.client_id)
                                   .where(CarePlanIntervention.id == payload["intervention_id"],
                                          Visit.id == payload["visit_id"])).first()
        if found is None or not is_medication(found.code):
            continue
        nurse = responsible_nurse(found.client_id)
        enqueue("medication_missed", [nurse] if nurse else managers_of(row["unit_id"]),
                {"at": found.planned_start}, dedupe_key=row["id"])


def rows(unit_id, start, end, medication_only=False, client_id=None):
    """Interventions recorded not done on the unit's visits planned in [start, end), by day and time."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    query = (select(InterventionRecord, Visit.planned_start, Visit.client_id, Client.name, Client.personal_number,
                    CarePlanIntervention.code, CarePlanIntervention.title, User.display_name, User.username)
             .join(Visit, Visit.id == InterventionRecord.visit_id)
             .join(Client, Client.id == Visit.client_id)
             .join(CarePlanIntervention, CarePlanIntervention.id == InterventionRecord.intervention_id)
             .join(User, User.id == InterventionRecord.worker_id)
             .where(Visit.unit_id == unit_id, Visit.planned_start >= start, Visit.planned_start < end,
                    InterventionRecord.status == "not_done"))
    if client_id is not None:
        query = query.where(Visit.client_id == client_id)
    if medication_only:
        query = query.where(CarePlanIntervention.code.in_(current_app.config["LOOP_MEDICATION_CODES"]))
    out = []
    for r, planned, cid, client, pnr, code, title, worker, username in db.session.execute(
            query.order_by(Visit.planned_start, Visit.id, InterventionRecord.id)):
        out.append({"day": planned.astimezone(tz).date(), "visit_id": r.visit_id, "planned_start": planned,
                    "client": {"id": cid, "name": client, "personal_number": pnr},
                    "worker": {"id": r.worker_id, "display_name": worker, "username": username},
                    "intervention": {"id": r.intervention_id, "code": code, "title": title},
                    "medication": is_medication(code), "reason": r.reason,
                    "reason_label": REASON_LABELS.get(r.reason, r.reason), "comment": r.comment, "source": r.source})
    return out
