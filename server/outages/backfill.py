"""Backfill: an administrator registers a visit on a worker's behalf, in the same log as the phones' records."""
import uuid
from datetime import datetime, timedelta, timezone

from sync import events as ev
from sync.errors import InvalidInput, NotFound, OutOfScope

from ..access_log import log_access
from ..extensions import db
from ..ingest import store_event
from ..models import User, Visit
from .evaluation import reevaluate_pair
from .lifecycle import get_outage
from .unit_rules import check_lock


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def backfill(admin, data, now):
    """Register a visit on behalf of a worker (from a paper form, a phone call …): stored as events with
    source `backfill` in the same log, with who entered it, when, for whom and from what information."""
    visit = db.session.get(Visit, data["visit_id"])
    if visit is None:
        raise NotFound("Besöket finns inte.")
    if visit.unit_id != admin.unit_id:
        raise OutOfScope("Besöket hör till en annan enhet.")
    worker = db.session.get(User, data["worker_id"])
    if worker is None or worker.id not in {w.id for w in visit.workers}:
        raise InvalidInput("Medarbetaren är inte schemalagd på besöket.",
                           errors={"worker_id": ["Inte schemalagd på besöket."]})
    started, ended = data.get("started_at"), data.get("ended_at")
    if started is None and ended is None and not data.get("interventions"):
        raise InvalidInput("Ange minst start, slut eller en insats.", errors={"started_at": ["Saknas."]})
    if started and ended and ended < started:
        raise InvalidInput("Slut före start.", errors={"ended_at": ["Före starttiden."]})
    for moment in (started, ended):
        if moment is not None and moment > now + timedelta(minutes=5):
            raise InvalidInput("Tiden ligger i framtiden.", errors={"started_at": ["I framtiden."]})
    planned = {i.id for i in visit.interventions}
    errors = {f"interventions.{n}.intervention_id": ["Inte planerad för besöket."]
              for n, item in enumerate(data.get("interventions") or []) if item["intervention_id"] not in planned}
    if errors:
        raise InvalidInput("Insatsen är inte planerad för besöket.", errors=errors)
    check_lock(visit.unit_id, started or ended or visit.planned_start)
    if data.get("outage_id") is not None:
        get_outage(admin, data["outage_id"])  # 404 / 403: the reference must be one of the unit's outages
    base = data.get("request_id") or uuid.uuid4()
    meta = {"information_source": data["information_source"], "note": data.get("note"), "recorded_by": admin.id,
            "on_behalf_of": worker.id, "outage_id": data.get("outage_id"), "entered_at": iso(now)}
    items = []
    if started:
        items.append((ev.VISIT_STARTED, "started", {"visit_id": visit.id, "at": started}))
    if ended:
        items.append((ev.VISIT_ENDED, "ended", {"visit_id": visit.id, "at": ended}))
    for item in data.get("interventions") or []:
        payload = {"visit_id": visit.id, "intervention_id": item["intervention_id"], "status": item["status"]}
        for name in ("reason", "comment"):
            if item.get(name):
                payload[name] = item[name]
        items.append((ev.INTERVENTION_RECORDED, f"intervention-{item['intervention_id']}", payload))
    stored, duplicates = [], 0
    for event_type, name, payload in items:
        payload = {**payload, "post_registration": True, "backfill": meta}
        event_id = str(uuid.uuid5(uuid.UUID(str(base)), name))
        raw = {"id": event_id, "type": event_type, "occurred_at": iso(now), "device_seq": 0,
               "payload": {k: (iso(v) if isinstance(v, datetime) else v) for k, v in payload.items()}}
        seq = store_event(ev.Event(event_id, event_type, now, 0, payload), raw, user=worker, unit_id=visit.unit_id,
                          device_id=None, source=ev.SOURCE_BACKFILL, skew=0.0, flagged=False, recorded_by=admin.id)
        duplicates += seq is None
        stored.append(event_id)
    log_access(admin, visit.client_id, "backfill")
    reevaluate_pair(visit, worker, now, "backfill")
    return {"event_ids": stored, "duplicate": duplicates == len(items)}
