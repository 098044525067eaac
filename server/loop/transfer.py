"""Transfer back to the journal (återföring): after an outage, everything this product recorded in its window
that must be entered into the system of record — notes, deviations, visit times and interventions, by client
and visit — each item once, ticked "överförd" with who and when, and what is left counted.

What belongs to an outage: a phone's record made (its corrected time) inside the window; an administrator's
backfill about a visit inside the window (it documents the outage period after the fact). A visit's times and
each intervention are one item per visit and worker, showing what stands now (the projection), however many
records made it; a note or a deviation is one item per record.
"""
import hashlib
import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select

from sync import events as ev
from sync.errors import InvalidInput, NotFound, OutOfScope

from ..dbutil import insert
from ..extensions import db
from ..models import CarePlanIntervention, Client, Event, InterventionRecord, Registration, User, Visit, utcnow
from ..outages.models import Outage, outage_units
from .deviations import CATEGORY_LABELS
from .missed import REASON_LABELS
from .models import TransferMark

TYPE_LABELS = {"visit_time": "Besökstid", "intervention": "Insats", "note": "Anteckning", "deviation": "Avvikelse"}
TYPES = (ev.VISIT_STARTED, ev.VISIT_ENDED, ev.INTERVENTION_RECORDED, ev.NOTE_ADDED, ev.DEVIATION_REPORTED)


def get_outage(user, outage_id):
    outage = db.session.get(Outage, outage_id)
    if outage is None or outage.status != "confirmed":
        raise NotFound("Driftstoppet finns inte.")
    if user.unit_id not in {u.id for u in outage.units}:
        raise OutOfScope("Driftstoppet gäller inte din enhet.")
    return outage


def recent_outages(unit_id, now):
    """The unit's confirmed outages that started within LOOP_TRANSFER_DAYS, newest first (ongoing included)."""
    since = now - timedelta(days=current_app.config["LOOP_TRANSFER_DAYS"])
    return list(db.session.scalars(
        select(Outage).join(outage_units, outage_units.c.outage_id == Outage.id)
        .where(outage_units.c.unit_id == unit_id, Outage.status == "confirmed", Outage.started_at >= since,
               Outage.started_at <= now).order_by(Outage.started_at.desc())))


def _window(outage, now):
    return outage.started_at, min(outage.ended_at or now, now)


def _at(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


def _records(outage, unit_id, now):
    """The log rows of the unit that belong to the outage's window (see the module's docstring)."""
    start, end = _window(outage, now)
    rows = db.session.execute(
        select(Event.id, Event.type, Event.source, Event.visit_id, Event.user_id, Event.client_id, Event.payload,
               Event.occurred_at_corrected, Visit.planned_start)
        .outerjoin(Visit, Visit.id == Event.visit_id)
        .where(Event.unit_id == unit_id, Event.type.in_(TYPES),
               or_(and_(Event.source != ev.SOURCE_BACKFILL, Event.occurred_at_corrected >= start,
                        Event.occurred_at_corrected <= end),
                   and_(Event.source == ev.SOURCE_BACKFILL, Event.received_at >= start)))
        .order_by(Event.seq)).all()
    inside = []
    for r in rows:
        if r.source == ev.SOURCE_BACKFILL:
            about = (_at(r.payload.get("at")) if r.type in (ev.VISIT_STARTED, ev.VISIT_ENDED) else None) \
                or r.planned_start
            if about is None or not start <= about <= end:
                continue
        inside.append(r)
    return inside


def _fingerprint(content):
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def items(outage, unit_id, now=None):
    """Every item to transfer for the outage and unit, each once, with its content and whether (and by whom)
    it is ticked — and `changed` if what stands now differs from what was ticked."""
    now = now or utcnow()
    records = _records(outage, unit_id, now)
    pairs = {(r.visit_id, r.user_id) for r in records if r.type in (ev.VISIT_STARTED, ev.VISIT_ENDED)}
    triples = {(r.visit_id, r.user_id, r.payload["intervention_id"]) for r in records
               if r.type == ev.INTERVENTION_RECORDED}
    out = []
    visits = {v.id: v for v in db.session.scalars(select(Visit).where(
        Visit.id.in_({p[0] for p in pairs} | {t[0] for t in triples})))} if pairs or triples else {}
    users = dict(db.session.execute(select(User.id, User.display_name).where(User.unit_id == unit_id)).all())
    for reg in _registrations(pairs):
        visit = visits[reg.visit_id]
        content = {"started_at": reg.started_at, "ended_at": reg.ended_at, "started_source": reg.started_source,
                   "ended_source": reg.ended_source}
        out.append(_item(f"visit:{reg.visit_id}:{reg.worker_id}", "visit_time", visit.client_id, visit,
                         reg.worker_id, users, reg.started_at or reg.ended_at, content))
    for rec, code, title in _interventions(triples):
        visit = visits[rec.visit_id]
        content = {"intervention_id": rec.intervention_id, "code": code, "title": title, "status": rec.status,
                   "reason": rec.reason, "reason_label": REASON_LABELS.get(rec.reason), "comment": rec.comment,
                   "source": rec.source}
        out.append(_item(f"intervention:{rec.visit_id}:{rec.worker_id}:{rec.intervention_id}", "intervention",
                         visit.client_id, visit, rec.worker_id, users, visit.planned_start, content))
    for r in records:
        if r.type in (ev.NOTE_ADDED, ev.DEVIATION_REPORTED):
            kind = "note" if r.type == ev.NOTE_ADDED else "deviation"
            content = ({"text": r.payload.get("text")} if kind == "note" else
                       {"category": r.payload.get("category"), "text": r.payload.get("description"),
                        "category_label": CATEGORY_LABELS.get(r.payload.get("category"))})
            out.append(_item(f"{kind}:{r.id}", kind, r.client_id, visits.get(r.visit_id) or _visit(r.visit_id),
                             r.user_id, users, r.occurred_at_corrected, content))
    marks = {m.item_key: m for m in db.session.scalars(select(TransferMark).where(
        TransferMark.outage_id == outage.id, TransferMark.unit_id == unit_id))}
    for item in out:
        mark = marks.get(item["key"])
        item["transferred"] = None if mark is None else {
            "by": {"id": mark.transferred_by, "display_name": users.get(mark.transferred_by)},
            "at": mark.transferred_at}
        item["changed"] = mark is not None and mark.fingerprint != item["fingerprint"]
    return out


def _visit(visit_id):
    return None if visit_id is None else db.session.get(Visit, visit_id)


def _item(key, kind, client_id, visit, worker_id, users, at, content):
    return {"key": key, "type": kind, "type_label": TYPE_LABELS[kind], "client_id": client_id,
            "visit": None if visit is None else {"id": visit.id, "planned_start": visit.planned_start,
                                                 "planned_end": visit.planned_end},
            "worker": {"id": worker_id, "display_name": users.get(worker_id)}, "at": at, "content": content,
            "fingerprint": _fingerprint(content)}


def _registrations(pairs):
    if not pairs:
        return []
    return [r for r in db.session.scalars(select(Registration).where(
        Registration.visit_id.in_({p[0] for p in pairs}))) if (r.visit_id, r.worker_id) in pairs]


def _interventions(triples):
    if not triples:
        return []
    rows = db.session.execute(select(InterventionRecord, CarePlanIntervention.code, CarePlanIntervention.title)
                              .join(CarePlanIntervention, CarePlanIntervention.id == InterventionRecord.intervention_id)
                              .where(InterventionRecord.visit_id.in_({t[0] for t in triples}))).all()
    return [(r, code, title) for r, code, title in rows if (r.visit_id, r.worker_id, r.intervention_id) in triples]


def counts(item_list):
    transferred = sum(1 for i in item_list if i["transferred"] and not i["changed"])
    changed = sum(1 for i in item_list if i["changed"])
    return {"total": len(item_list), "transferred": transferred, "changed": changed,
            "left": len(item_list) - transferred}


def by_client(item_list):
    """Items grouped by client (name order), each client's by visit time; items without a client last."""
    clients = {c.id: c for c in db.session.scalars(select(Client).where(
        Client.id.in_({i["client_id"] for i in item_list if i["client_id"]})))} if item_list else {}
    groups = {}
    for item in item_list:
        groups.setdefault(item["client_id"], []).append(item)
    order = sorted(groups, key=lambda cid: (cid is None, clients[cid].name if cid else "", cid or 0))
    return [{"client": None if cid is None else {"id": cid, "name": clients[cid].name,
                                                 "personal_number": clients[cid].personal_number},
             "items": sorted(groups[cid], key=lambda i: (i["visit"]["planned_start"] if i["visit"] else i["at"],
                                                        i["visit"]["id"] if i["visit"] else 0, i["key"]))}
            for cid in order]


def mark(user, outage, keys, now=None):
    """Tick items as transferred (who, when, and the content they had); an unknown key is refused."""
    now = now or utcnow()
    current = {i["key"]: i for i in items(outage, user.unit_id, now)}
    unknown = [k for k in keys if k not in current]
    if unknown:
        raise InvalidInput("Posten finns inte i listan för driftstoppet.", errors={"item_keys": unknown[:10]})
    table = TransferMark.__table__
    for key in dict.fromkeys(keys):  # ticking again (a changed item, a second click) takes the content now
        values = {"fingerprint": current[key]["fingerprint"], "transferred_by": user.id, "transferred_at": now}
        db.session.execute(insert(table).values(outage_id=outage.id, unit_id=user.unit_id, item_key=key, **values)
                           .on_conflict_do_update(index_elements=["outage_id", "unit_id", "item_key"], set_=values))


def unmark(user, outage, keys):
    """Untick items ticked by mistake."""
    for m in db.session.scalars(select(TransferMark).where(
            TransferMark.outage_id == outage.id, TransferMark.unit_id == user.unit_id,
            TransferMark.item_key.in_(keys))):
        db.session.delete(m)
