"""Backfill-versus-device conflicts: both records stay; an administrator chooses which one is effective."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import and_, or_, select

from sync import conflicts as cf
from sync import events as ev
from sync.errors import Conflict, NotFound, OutOfScope
from sync.projection import rank_key

from ..extensions import db
from ..ingest import store_event
from ..models import Event, User, Visit
from .backfill import iso
from .facts import tz
from .models import ConflictResolution


def _recorded(row):
    p = row.payload
    if row.type == ev.INTERVENTION_RECORDED:
        field = cf.intervention_field(p["intervention_id"])
        value = {"status": p.get("status"), "reason": p.get("reason"), "comment": p.get("comment")}
    else:
        field = cf.FIELD_OF_TYPE[row.type]
        value = datetime.fromisoformat(p["at"]).astimezone(timezone.utc) if p.get("at") else row.occurred_at_corrected
    return cf.Recorded(field, value, row.source, row.id, rank_key(row.source, row.occurred_at_corrected, row.id),
                       recorded_by=row.recorded_by, received_at=row.received_at)


def conflicts(user, state="open", visit_id=None, worker_id=None):
    """Backfill-versus-device conflicts of the unit, per visit and worker, with the effective record."""
    pairs = select(Event.visit_id, Event.user_id).where(Event.unit_id == user.unit_id,
                                                        Event.source == ev.SOURCE_BACKFILL).distinct()
    if visit_id:
        pairs = pairs.where(Event.visit_id == visit_id)
    if worker_id:
        pairs = pairs.where(Event.user_id == worker_id)
    pairs = db.session.execute(pairs).all()
    if not pairs:
        return []
    rows = db.session.scalars(select(Event).where(
        Event.type.in_((ev.VISIT_STARTED, ev.VISIT_ENDED, ev.INTERVENTION_RECORDED)),
        or_(*[and_(Event.visit_id == v, Event.user_id == w) for v, w in pairs])).order_by(Event.seq)).all()
    by_pair = {}
    for row in rows:
        by_pair.setdefault((row.visit_id, row.user_id), []).append(_recorded(row))
    confirmed = {}
    for res in db.session.scalars(select(ConflictResolution).where(ConflictResolution.unit_id == user.unit_id)):
        confirmed.setdefault((res.visit_id, res.worker_id), set()).update(res.fields)
    out = []
    zone = tz()
    for (v, w), records in sorted(by_pair.items()):
        fields = cf.field_conflicts(records, confirmed.get((v, w), ()))
        if not fields:
            continue
        resolved = all(f.resolved or not f.differs for f in fields)
        if (state == "open" and resolved) or (state == "resolved" and not resolved):
            continue
        out.append({"visit_id": v, "worker_id": w, "resolved": resolved,
                    "fields": [{"field": f.field, "differs": f.differs, "resolved": f.resolved,
                                "effective_source": f.effective.source,
                                "device": _show(f.device), "backfill": _show(f.backfill),
                                "explanation": cf.explain(f, zone)} for f in fields]})
    return out


def _show(r: cf.Recorded):
    value = iso(r.value) if isinstance(r.value, datetime) else r.value
    return {"event_id": r.event_id, "value": value, "source": r.source, "recorded_by": r.recorded_by,
            "received_at": iso(r.received_at) if r.received_at else None}


def resolve_conflict(admin, visit_id, worker_id, effective, note, now):
    """Keep both records; `device` confirms the device record, `backfill` appends resolution records that
    carry the backfill's values and outrank the device record (the log stays the whole truth)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        raise NotFound("Besöket finns inte.")
    if visit.unit_id != admin.unit_id:
        raise OutOfScope("Besöket hör till en annan enhet.")
    [item] = conflicts(admin, "all", visit_id, worker_id) or [None]
    if item is None:
        raise NotFound("Det finns ingen konflikt för besöket och medarbetaren.")
    open_fields = [f for f in item["fields"] if f["differs"] and not f["resolved"]]
    if not open_fields:
        raise Conflict("Konflikten är redan avgjord.", code="already_resolved")
    worker = db.session.get(User, worker_id)
    if effective == "backfill":
        for f in open_fields:
            source = db.session.scalar(select(Event).where(Event.id == f["backfill"]["event_id"]))
            payload = {k: v for k, v in source.payload.items() if k != "backfill"}
            payload["resolution"] = {"chosen": "backfill", "backfill_event_id": source.id,
                                     "device_event_id": f["device"]["event_id"], "resolved_by": admin.id,
                                     "note": note}
            event_id = str(uuid.uuid5(uuid.UUID(str(uuid.uuid5(uuid.NAMESPACE_URL, source.id))), "resolution"))
            typed = dict(payload)
            if typed.get("at"):
                typed["at"] = datetime.fromisoformat(typed["at"])
            raw = {"id": event_id, "type": source.type, "occurred_at": iso(now), "device_seq": 0, "payload": payload}
            store_event(ev.Event(event_id, source.type, now, 0, typed), raw, user=worker, unit_id=visit.unit_id,
                        device_id=None, source=cf.SOURCE_RESOLUTION, skew=0.0, flagged=False, recorded_by=admin.id)
    db.session.add(ConflictResolution(visit_id=visit_id, worker_id=worker_id, unit_id=visit.unit_id,
                                      effective=effective, fields=[f["field"] for f in open_fields], note=note,
                                      resolved_by=admin.id, resolved_at=now))
    db.session.flush()
    [after] = conflicts(admin, "all", visit_id, worker_id)
    return after
