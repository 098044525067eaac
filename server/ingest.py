"""Push: take a batch of device events into the log with exactly-once effect, and keep the projection current.

Exactly-once rests on the database, not on luck: the event id is UNIQUE and every insert is
`ON CONFLICT DO NOTHING`, so a retry, a resend or a concurrent duplicate from another process can
never store an event twice. The projection is updated with a rank-guarded upsert, the SQL twin of
`sync.projection` (tests check the two agree), so concurrent batches cannot overwrite a winner.
"""
import hashlib
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import case, select, text

from sync import events as ev
from sync.projection import rank_key
from sync.protocol import clock_skew, corrected

from .access_log import log_access
from .dbutil import insert
from .errors import ApiError
from .extensions import db
from .models import (Client, Event, InterventionRecord, QuarantinedEvent, Registration, Unit, Visit,
                     utcnow, visit_interventions, visit_workers)
from .schemas import Plausibility, PushRequestSchema, SealedEventSchema, event_loader
from .sealing import UnsealError, unseal, unseal_v2

_PUSH_REQUEST, _SEALED_EVENT = PushRequestSchema(), SealedEventSchema()  # stateless: one each, for every thread

# Hooks other areas register to react in the same transaction as events are applied (e.g. outages
# re-evaluating a gap). Per event: hook(seq, event, user). Per stored batch, after the projection is
# current: batch_hook([(seq, event, user), ...]) — one query for a whole push instead of one per event.
after_apply_hooks = []
after_apply_batch_hooks = []


@dataclass
class Parsed:
    event: ev.Event
    raw: dict  # the event as the device wrote it, for the fingerprint and the quarantine
    sealed: bool


class DbFacts:
    """`sync.events.Facts` answered from the database, loading each batch's visits in one query."""

    def __init__(self, visit_ids, client_ids):
        self._visits, self._clients, self._locks = {}, {}, {}
        if visit_ids:
            rows = db.session.execute(select(Visit.id, Visit.unit_id, Visit.client_id, Visit.planned_start)
                                      .where(Visit.id.in_(visit_ids))).all()
            workers, interventions = {}, {}
            for vid, wid in db.session.execute(select(visit_workers.c.visit_id, visit_workers.c.worker_id)
                                               .where(visit_workers.c.visit_id.in_(visit_ids))):
                workers.setdefault(vid, set()).add(wid)
            for vid, iid in db.session.execute(select(visit_interventions.c.visit_id,
                                                      visit_interventions.c.intervention_id)
                                               .where(visit_interventions.c.visit_id.in_(visit_ids))):
                interventions.setdefault(vid, set()).add(iid)
            for vid, unit_id, client_id, start in rows:
                self._visits[vid] = ev.VisitFacts(vid, unit_id, client_id, frozenset(workers.get(vid, ())),
                                                  frozenset(interventions.get(vid, ())), start)
        if client_ids:
            self._clients = dict(db.session.execute(select(Client.id, Client.unit_id)
                                                    .where(Client.id.in_(client_ids))).all())

    def visit(self, visit_id):
        return self._visits.get(visit_id)

    def client_unit(self, client_id):
        return self._clients.get(client_id)

    def lock_date(self, unit_id):
        if unit_id not in self._locks:
            self._locks[unit_id] = db.session.execute(select(Unit.lock_date).where(Unit.id == unit_id)).scalar()
        return self._locks[unit_id]


def fingerprint(raw):
    canonical = {k: raw.get(k) for k in ("type", "occurred_at", "device_seq", "payload")}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def parse_batch(body, device, scope, now):
    """Load the request at the edge: any structural fault → 422 for the whole batch, nothing applied."""
    cfg = current_app.config
    if isinstance(body, dict) and isinstance(body.get("events"), list) and len(body["events"]) > cfg["MAX_BATCH"]:
        raise ApiError(413, "batch_too_large", f"Högst {cfg['MAX_BATCH']} händelser per begäran.",
                       max_batch=cfg["MAX_BATCH"])
    request = _PUSH_REQUEST.load(body if isinstance(body, dict) else {"_": body})
    if request["device_id"] != device.id:
        raise ApiError(403, "device_mismatch", "Inloggningen hör till en annan enhet.")
    schema = event_loader(Plausibility(now, cfg["MAX_EVENT_AGE_DAYS"], cfg["MAX_EVENT_FUTURE_HOURS"]))
    outbox_key, keys = current_app.extensions["outbox_key"], request.get("keys") or {}
    parsed, errors = [], {}
    for i, item in enumerate(request["events"]):
        try:
            sealed = "sealed" in item
            if sealed:
                outer = _SEALED_EVENT.load(item)
                if "k" in outer and outer["k"] not in keys:
                    raise ValidationError({"k": ["Nyckeln finns inte i begärans keys."]})
                try:
                    raw = unseal_v2(outbox_key, keys[outer["k"]], outer["sealed"], str(outer["id"])) \
                        if "k" in outer else unseal(outbox_key, outer["sealed"], str(outer["id"]))
                except UnsealError as exc:
                    raise ValidationError({"sealed": [f"Kunde inte öppna den förseglade posten ({exc})."]})
            elif scope != "full":
                raise ValidationError({"sealed": ["Den här inloggningen får bara lämna förseglade poster."]})
            else:
                raw = item
            data = schema.load(raw)
            parsed.append(Parsed(ev.Event(str(data["id"]), data["type"], data["occurred_at"], data["device_seq"],
                                          data["payload"]), raw, sealed))
        except ValidationError as err:
            errors[i] = err.messages
    if errors:
        raise ValidationError({"events": errors})
    return request, parsed


def _quarantine(p, user, device, skew, code, message):
    db.session.execute(insert(QuarantinedEvent.__table__).values(
        id=p.event.id, device_id=device.id, user_id=user.id, unit_id=user.unit_id, type=p.event.type,
        raw=p.raw, code=code, message=message, skew_seconds=skew, received_at=utcnow(), state="open",
    ).on_conflict_do_nothing(index_elements=["id"]))
    return {"id": p.event.id, "status": "rejected", "code": code, "message": message}


def _upsert_registrations(prefix, rows):
    """One batched upsert of `started`/`ended` fields; each row must be the best of its (visit, worker)."""
    at, key, src = f"{prefix}_at", f"{prefix}_key", f"{prefix}_source"
    table = Registration.__table__
    stmt = insert(table)
    wins = (table.c[key].is_(None)) | (stmt.excluded[key] > table.c[key])
    stmt = stmt.on_conflict_do_update(
        index_elements=["visit_id", "worker_id"],
        set_={col: case((wins, stmt.excluded[col]), else_=table.c[col]) for col in (at, key, src)})
    db.session.execute(stmt, [{"visit_id": r["visit_id"], "worker_id": r["user_id"], at: r["payload_at"],
                               key: r["key"], src: r["source"]} for r in rows])


def _upsert_interventions(rows):
    table = InterventionRecord.__table__
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["visit_id", "worker_id", "intervention_id"],
        set_={col: stmt.excluded[col] for col in ("status", "reason", "comment", "key", "source")},
        where=stmt.excluded.key > table.c.key)
    db.session.execute(stmt, [{"visit_id": r["payload"]["visit_id"], "worker_id": r["user_id"],
                               "intervention_id": r["payload"]["intervention_id"], "status": r["payload"]["status"],
                               "reason": r["payload"].get("reason"), "comment": r["payload"].get("comment"),
                               "key": r["key"], "source": r["source"]} for r in rows])


def _project(rows):
    """Fold applied events into the projection tables; the SQL mirrors sync.projection.

    Within a batch only the highest-ranked record per row can win (the fold is a max), so each row is
    written once, in one batched statement per table and field; the guarded upsert still decides
    against what is already stored (and against concurrent batches)."""
    best = {}
    for row in rows:
        if row["type"] in (ev.VISIT_STARTED, ev.VISIT_ENDED):
            group = (row["type"], row["visit_id"], row["user_id"])
        elif row["type"] == ev.INTERVENTION_RECORDED:
            group = (row["type"], row["visit_id"], row["user_id"], row["payload"]["intervention_id"])
        else:
            continue
        if group not in best or row["key"] > best[group]["key"]:
            best[group] = row
    by_type = {}
    for group, row in sorted(best.items(), key=lambda item: str(item[0])):  # a stable lock order
        by_type.setdefault(group[0], []).append(row)
    if by_type.get(ev.VISIT_STARTED):
        _upsert_registrations("started", by_type[ev.VISIT_STARTED])
    if by_type.get(ev.VISIT_ENDED):
        _upsert_registrations("ended", by_type[ev.VISIT_ENDED])
    if by_type.get(ev.INTERVENTION_RECORDED):
        _upsert_interventions(by_type[ev.INTERVENTION_RECORDED])


WORKER_LOCK_NAMESPACE = 0x4876  # "Hv": first key of the per-worker advisory lock


def lock_worker(user_id):
    """Serialise one worker's concurrent writes until commit (PostgreSQL; SQLite has one writer anyway).

    Two phones of one worker, a retry racing its own first attempt, or a backfill touch the same event ids
    and projection rows in any order; without this they can deadlock (found by the soak test)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                           {"ns": WORKER_LOCK_NAMESPACE, "id": user_id})


@dataclass
class ToStore:
    """An event that passed its checks, with who and where it comes from."""

    event: ev.Event
    raw: dict
    user: object
    unit_id: int
    device_id: object
    source: str
    skew: float
    flagged: bool
    recorded_by: object = None


def store_events(items):
    """Insert events into the log (each id once) in one statement and project the new ones.

    Returns each item's new seq, or None where the id was already stored (a concurrent push won)."""
    if not items:
        return []
    for user_id in sorted({item.user.id for item in items}):
        lock_worker(user_id)
    now = utcnow()
    rows, first = [], {}
    for item in items:
        e, raw = item.event, item.raw
        if e.id in first:  # the caller answers repeats itself; never send one id twice in one statement
            continue
        first[e.id] = item
        corrected_at = corrected(e.occurred_at, item.skew)
        rows.append(dict(
            id=e.id, type=e.type, source=item.source, device_id=item.device_id, user_id=item.user.id,
            recorded_by=item.recorded_by, unit_id=item.unit_id, visit_id=e.payload.get("visit_id"),
            client_id=e.payload.get("client_id"), device_seq=e.device_seq, occurred_at=e.occurred_at,
            occurred_at_raw=str(raw.get("occurred_at"))[:40], occurred_at_corrected=corrected_at,
            skew_seconds=item.skew, skew_flagged=item.flagged,
            payload=json.loads(json.dumps(raw.get("payload", {}))),  # exactly as written, JSON-safe
            fingerprint=fingerprint(raw), received_at=now))
    table = Event.__table__
    # executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues") from one
    # cached compiled statement; conflicting ids return no row, so the answer is matched by id, not order
    seqs = dict(db.session.execute(insert(table).on_conflict_do_nothing(index_elements=["id"])
                                   .returning(table.c.id, table.c.seq), rows).all())
    applied = []
    for row in rows:
        seq = seqs.get(row["id"])
        if seq is None:
            continue
        item = first[row["id"]]
        e = item.event
        at = ev.visit_time(e)
        if e.type in (ev.VISIT_STARTED, ev.VISIT_ENDED) and at is e.occurred_at:
            at = row["occurred_at_corrected"]  # an unadjusted time is the device clock's, so correct it too
        applied.append({"type": e.type, "visit_id": e.payload.get("visit_id"), "user_id": item.user.id,
                        "payload": e.payload, "payload_at": at, "source": item.source,
                        "key": rank_key(item.source, row["occurred_at_corrected"], e.id)})
    _project(applied)
    stored = []
    for row in rows:
        seq = seqs.get(row["id"])
        if seq is None:
            continue
        item = first[row["id"]]
        e = item.event
        stored.append((seq, e, item.user))
        if e.type == ev.CLIENT_RECORD_OPENED:
            log_access(item.user, e.payload["client_id"], f"open_{e.payload['view']}", device_id=item.device_id,
                       offline=True, at=row["occurred_at_corrected"], event_id=e.id)
        for hook in after_apply_hooks:
            hook(seq, e, item.user)
    if stored:
        for hook in after_apply_batch_hooks:
            hook(stored)
    return [seqs.get(item.event.id) if first.get(item.event.id) is item else None for item in items]


def store_event(e: ev.Event, raw, *, user, unit_id, device_id, source, skew, flagged, recorded_by=None):
    """Insert one event into the log (once) and project it. Returns the new seq, or None if it existed."""
    return store_events([ToStore(e, raw, user, unit_id, device_id, source, skew, flagged, recorded_by)])[0]


def push(user, device, body, scope):
    """Apply one push request; returns the response body. Commits once, so a batch is all-or-nothing
    at the transport level while each event gets its own verdict."""
    now = utcnow()
    cfg = current_app.config
    request, parsed = parse_batch(body, device, scope, now)
    lock_worker(user.id)  # before reading what exists, so the answers are those of a serial order
    status = request["status"]
    skew = clock_skew(now, status["device_clock"])
    flagged = abs(skew) > cfg["CLOCK_SKEW_FLAG_SECONDS"]
    ids = [p.event.id for p in parsed]
    existing = dict(db.session.execute(select(Event.id, Event.fingerprint).where(Event.id.in_(ids))).all()) \
        if ids else {}
    quarantined = {q.id: q for q in db.session.query(QuarantinedEvent).filter(QuarantinedEvent.id.in_(ids))} \
        if ids else {}
    facts = DbFacts({p.event.payload["visit_id"] for p in parsed if "visit_id" in p.event.payload},
                    {p.event.payload["client_id"] for p in parsed if "client_id" in p.event.payload})
    tz = ZoneInfo(cfg["TIMEZONE"])
    results = [None] * len(parsed)
    accepted = []  # (position, parsed) of the events to store, each id once
    for i, p in enumerate(parsed):
        e = p.event
        if e.id in existing:  # stored before, or earlier in this very batch
            results[i] = _answer_existing(p, existing[e.id])
            continue
        if e.id in quarantined:
            q = quarantined[e.id]
            results[i] = {"id": e.id, "status": "rejected", "code": q.code, "message": q.message}
            continue
        if device.revoked_at is not None:
            results[i] = _quarantine(p, user, device, skew, "device_revoked",
                                     "Enheten är spärrad; posten granskas av en administratör.")
            continue
        rejection = ev.check(e, user.id, user.unit_id, facts, tz)
        if rejection:
            results[i] = _quarantine(p, user, device, skew, rejection.code, rejection.message)
            continue
        existing[e.id] = fingerprint(p.raw)
        accepted.append((i, p))
    seqs = store_events([ToStore(p.event, p.raw, user, user.unit_id, device.id, ev.SOURCE_DEVICE, skew, flagged)
                         for _, p in accepted])
    raced = [p.event.id for (_, p), seq in zip(accepted, seqs) if seq is None]
    won_elsewhere = dict(db.session.execute(select(Event.id, Event.fingerprint).where(Event.id.in_(raced))).all()) \
        if raced else {}
    for (i, p), seq in zip(accepted, seqs):
        if seq is None:  # a concurrent push of the same id won the race a moment ago
            results[i] = _answer_existing(p, won_elsewhere.get(p.event.id))
        else:
            results[i] = {"id": p.event.id, "status": "applied", "code": "applied", "message": "Sparad."}
    _remember_status(device, status, skew, now)
    db.session.commit()
    body = {"server_time": now, "skew_seconds": round(skew, 3), "results": results}
    if device.revoked_at is not None:
        body["wipe"] = True
    return body


def _answer_existing(p, stored_fingerprint):
    if stored_fingerprint == fingerprint(p.raw):
        return {"id": p.event.id, "status": "duplicate", "code": "already_applied", "message": "Redan mottagen."}
    return {"id": p.event.id, "status": "rejected", "code": "id_reused",
            "message": "Ett annat innehåll har redan lämnats in med samma id."}


def _remember_status(device, status, skew, now):
    device.last_seen_at = device.last_push_at = now
    device.status_pending = status["pending"]
    device.status_oldest_pending_at = status.get("oldest_pending_at")
    device.status_device_clock = status["device_clock"]
    device.status_app_version = status["app_version"]
    device.status_reported_at = now
    device.last_skew_seconds = skew
    extra = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in status.items()
             if k in ("failed_syncs", "last_failed_sync_at", "copy_as_of")}
    device.status_extra = extra or None
