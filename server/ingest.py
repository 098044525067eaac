"""Push: a batch of device records into the log with exactly-once effect, in one transaction that reads top to bottom.

Exactly-once rests on the database: the record id is UNIQUE and every insert is `ON CONFLICT (id) DO NOTHING`,
so a retry, a resend or a concurrent duplicate can never store a record twice. The projection is updated with
rank-guarded upserts, the SQL twin of `sync.projection` (tests check the two agree), so batches arriving in any
order leave the same state. Every side effect of a stored record — projection, access log, outage gaps — is
called in `store_events`, the one place every record (a phone's or an administrator's backfill) goes through.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import ARRAY, Date, Integer, String, Text, bindparam, select, text

from sync import events as ev
from sync.projection import rank_key
from sync.protocol import clock_skew, corrected, plausible

from . import dbutil, projection_store
from .access_log import log_access
from .dbutil import insert, lock_worker
from .errors import ApiError
from .extensions import db
from .loop import on_events_stored
from .models import Event, QuarantinedEvent, UTCDateTime, utcnow
from .outages.evaluation import on_events_applied
from .schemas import EventSchema, PushRequestSchema, SealedEventSchema
from .sealing import UnsealError, unseal, unseal_v2

_PUSH_REQUEST, _SEALED_EVENT, _EVENT = PushRequestSchema(), SealedEventSchema(), EventSchema()


@dataclass
class Parsed:
    event: ev.Event
    raw: dict  # the record as the device wrote it: the fingerprint's basis, and what quarantine keeps
    fingerprint: str


def push(user, device, scope, body):
    """Apply one push request for `user` on `device` and return the answer; the caller commits (once).

    Any structural fault of the request is a 4xx and nothing is applied; after that each record gets its own
    verdict: applied, duplicate (stored before, same content) or rejected with a code — and a rejected record
    is kept in quarantine with its reason, never dropped."""
    now = utcnow()
    cfg = current_app.config
    request, parsed = parse_batch(body, device.id, scope)
    status = request["status"]
    skew = clock_skew(now, status["device_clock"])
    lock_worker(user.id)  # before reading: the verdicts are those of a serial order of this worker's pushes
    facts = DbFacts.read([p.event for p in parsed], user.unit_id)
    revoked = device.revoked_at is not None
    results, accepted, refused = _verdicts(parsed, facts, user.id, user.unit_id, revoked, skew, now)
    for i, code, message in refused:  # kept with the reason, never dropped
        results[i] = quarantine(parsed[i], user, device, skew, code, message)
    flagged = abs(skew) > cfg["CLOCK_SKEW_FLAG_SECONDS"]
    seqs = store_events([ToStore(p.event, p.raw, user, record_unit(p.event, facts, user), device.id,
                                 ev.SOURCE_DEVICE, skew, flagged, fingerprint=p.fingerprint)
                         for _, p in accepted], facts)
    raced = [p for (_, p), seq in zip(accepted, seqs) if seq is None]
    won_elsewhere = dict(db.session.execute(select(Event.id, Event.fingerprint).where(
        Event.id.in_([p.event.id for p in raced]))).all()) if raced else {}
    for (i, p), seq in zip(accepted, seqs):
        if seq is not None:
            results[i] = {"id": p.event.id, "status": "applied", "code": "applied", "message": "Sparad."}
        elif won_elsewhere.get(p.event.id) == p.fingerprint:  # a concurrent push stored it a moment ago
            results[i] = _DUPLICATE(p.event.id)
        else:
            results[i] = quarantine(p, user, device, skew, *_ID_REUSED)
    remember_status(device, status, skew, now, delivered=len(parsed))
    answer = {"server_time": now, "skew_seconds": round(skew, 3), "results": results}
    if revoked:
        answer["wipe"] = True
    return answer


def parse_batch(body, device_id, scope):
    """Load the request at the edge: (request, [Parsed]); a structural fault anywhere → 4xx, nothing applied."""
    limit = current_app.config["MAX_BATCH"]
    if isinstance(body, dict) and isinstance(body.get("events"), list) and len(body["events"]) > limit:
        raise ApiError(413, "batch_too_large", f"Högst {limit} händelser per begäran.", max_batch=limit)
    request = _PUSH_REQUEST.load(body if isinstance(body, dict) else {"_": body})
    if request["device_id"] != device_id:
        raise ApiError(403, "device_mismatch", "Inloggningen hör till en annan enhet.")
    outbox_key, keys = current_app.extensions["outbox_key"], request.get("keys") or {}
    parsed, errors = [], {}
    for i, item in enumerate(request["events"]):
        try:
            raw = _unsealed(item, outbox_key, keys, scope)
            data = _EVENT.load(raw)
            parsed.append(Parsed(ev.Event(str(data["id"]), data["type"], data["occurred_at"], data["device_seq"],
                                          data["payload"]), raw, fingerprint(raw)))
        except ValidationError as err:
            errors[i] = err.messages
    if errors:
        raise ValidationError({"events": errors})
    return request, parsed


def _unsealed(item, outbox_key, keys, scope):
    """The record inside a sealed envelope (docs/protocol.md); a plain record only from a full-scope login."""
    if "sealed" not in item:
        if scope != "full":
            raise ValidationError({"sealed": ["Den här inloggningen får bara lämna förseglade poster."]})
        return item
    outer = _SEALED_EVENT.load(item)
    if "k" in outer and outer["k"] not in keys:
        raise ValidationError({"k": ["Nyckeln finns inte i begärans keys."]})
    try:
        if "k" in outer:
            return unseal_v2(outbox_key, keys[outer["k"]], outer["sealed"], str(outer["id"]))
        return unseal(outbox_key, outer["sealed"], str(outer["id"]))
    except UnsealError as exc:
        raise ValidationError({"sealed": [f"Kunde inte öppna den förseglade posten ({exc})."]})


def fingerprint(raw):
    """sha256 of the record's canonical JSON — stored with it and compared on every resend, so never respelt."""
    canonical = {k: raw.get(k) for k in ("type", "occurred_at", "device_seq", "payload")}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _verdicts(parsed, facts, worker_id, unit_id, revoked, skew, now):
    """Each record's answer as far as the facts decide it: (results, accepted, refused). `results`: answers for
    ids stored or quarantined before (None elsewhere); `accepted`: [(position, Parsed)] to store, each id once
    (a repeat within the batch is answered as stored before); `refused`: [(position, code, message)] to
    quarantine — a reused id with other content, every record of a revoked device, records whose time is
    implausible even after the clock correction, and those the domain's checks reject."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    results, accepted, refused = [None] * len(parsed), [], []
    for i, p in enumerate(parsed):
        e = p.event
        if e.id in facts.existing:  # stored before, or earlier in this very batch
            if facts.existing[e.id] == p.fingerprint:
                results[i] = _DUPLICATE(e.id)
            else:  # kept beside the stored record, never overwriting it
                refused.append((i, *_ID_REUSED))
        elif e.id in facts.quarantined:
            code, message = facts.quarantined[e.id]
            results[i] = _rejected(e.id, code, message)
        elif revoked:
            refused.append((i, "device_revoked", "Enheten är spärrad; posten granskas av en administratör."))
        elif implausible_time(e, skew, now):
            refused.append((i, *implausible_time(e, skew, now)))
        else:
            rejection = ev.check(e, worker_id, unit_id, facts, tz)
            if rejection:
                refused.append((i, rejection.code, rejection.message))
            else:
                facts.existing[e.id] = p.fingerprint
                accepted.append((i, p))
    return results, accepted, refused


def implausible_time(e, skew, now):
    """(code, message) if a record's times are implausible even corrected by its device's clock skew, else None.
    A phone whose clock was reset records in 1970 and says so in `device_clock`: corrected, its records are
    fine. One whose records and clock disagree (recorded now, clock in 1970) would be placed decades away and
    outrank every later correction: it is kept in quarantine with its raw times instead."""
    cfg = current_app.config
    max_age, max_future = timedelta(days=cfg["MAX_EVENT_AGE_DAYS"]), timedelta(hours=cfg["MAX_EVENT_FUTURE_HOURS"])
    if all(plausible(corrected(moment, skew), now, max_age, max_future) for moment in (e.occurred_at,
                                                                                         ev.visit_time(e))):
        return None
    return ("implausible_time", "Tidpunkten är orimlig även efter klockjustering (telefonens klocka?); "
                                "en administratör granskar posten.")


def record_unit(e, facts, user):
    """The unit a stored record belongs to: its visit's (a worker moved to another unit still delivers what
    they did in the old one, and it is the old unit's), else the worker's."""
    visit = facts.visit(e.payload["visit_id"]) if e.type in ev.VISIT_EVENTS else None
    return visit.unit_id if visit is not None else user.unit_id


def _DUPLICATE(event_id):
    return {"id": event_id, "status": "duplicate", "code": "already_applied", "message": "Redan mottagen."}


def _rejected(event_id, code, message):
    return {"id": event_id, "status": "rejected", "code": code, "message": message}


_ID_REUSED = ("id_reused", "Ett annat innehåll har redan lämnats in med samma id.")


def quarantine(p, user, device, skew, code, message):
    """Keep a rejected record with its reason (once per id) for an administrator to reapply or dismiss."""
    db.session.execute(insert(QuarantinedEvent.__table__).values(
        id=p.event.id, device_id=device.id, user_id=user.id, unit_id=user.unit_id,
        type=p.event.type, raw=p.raw, code=code, message=message, skew_seconds=skew, received_at=utcnow(),
        state="open").on_conflict_do_nothing(index_elements=["id"]))
    return _rejected(p.event.id, code, message)


def remember_status(device, status, skew, now, delivered):
    """The device's last known state, for managers' backlog and readiness. The phone counted the records of
    this very request as waiting; they have now left its outbox (applied, duplicate or rejected — each answered),
    so the waiting count is what remains, and "oldest waiting" is gone once nothing does."""
    pending = max(0, status["pending"] - delivered)
    device.last_seen_at = device.last_push_at = device.status_reported_at = now
    device.status_pending = pending
    device.status_oldest_pending_at = status.get("oldest_pending_at") if pending else None
    device.status_device_clock = status["device_clock"]
    device.status_app_version = status["app_version"]
    device.last_skew_seconds = skew
    extra = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in status.items()
             if k in ("failed_syncs", "last_failed_sync_at", "copy_as_of")}
    device.status_extra = extra or None


# Everything the checks and the outage evaluation need about a batch, in one query: which ids are stored (with
# their fingerprints) or quarantined, the batch's visits with their workers and planned interventions, the
# clients it names, the worker's unit's lock date, the outage gaps of those visits, and the clients of the
# notes its handover acknowledgements name. One row shape for all.
def _facts_query(postgresql):
    """The facts query on one engine (`dbutil.among`: each id list one parameter)."""
    def among(name):
        return dbutil.among(name, postgresql)

    return text(f"""
    SELECT 'e' AS kind, id AS key, fingerprint AS t1, CAST(NULL AS TEXT) AS t2, CAST(NULL AS INTEGER) AS n1,
           CAST(NULL AS INTEGER) AS n2, CAST(NULL AS INTEGER) AS n3, CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS ts,
           CAST(NULL AS DATE) AS d FROM events WHERE id {among("event_ids")}
    UNION ALL SELECT 'q', id, code, message, NULL, NULL, NULL, NULL, NULL FROM quarantined_events
           WHERE id {among("event_ids")}
    UNION ALL SELECT 'v', NULL, NULL, NULL, id, unit_id, client_id, planned_start, NULL FROM visits
           WHERE id {among("visit_ids")}
    UNION ALL SELECT 'w', NULL, NULL, NULL, visit_id, worker_id, NULL, NULL, NULL FROM visit_workers
           WHERE visit_id {among("visit_ids")}
    UNION ALL SELECT 'f', NULL, NULL, NULL, visit_id, worker_id, NULL, NULL, NULL FROM visit_former_workers
           WHERE visit_id {among("visit_ids")}
    UNION ALL SELECT 'i', NULL, NULL, NULL, visit_id, intervention_id, NULL, NULL, NULL FROM visit_interventions
           WHERE visit_id {among("visit_ids")}
    UNION ALL SELECT 'c', NULL, NULL, NULL, id, unit_id, NULL, NULL, NULL FROM clients WHERE id {among("client_ids")}
    UNION ALL SELECT 'u', NULL, NULL, NULL, id, NULL, NULL, NULL, lock_date FROM units WHERE id = :unit_id
    UNION ALL SELECT 'g', NULL, NULL, NULL, outage_id, visit_id, worker_id, NULL, NULL FROM outage_gaps
           WHERE visit_id {among("visit_ids")}
    UNION ALL SELECT 'n', id, NULL, NULL, client_id, NULL, NULL, NULL, NULL FROM events
           WHERE id {among("note_ids")} AND type = 'note_added'
    """).bindparams(*(bindparam(name, type_=ARRAY(String) if postgresql else String)
                      for name in ("event_ids", "note_ids")),
                    *(bindparam(name, type_=ARRAY(Integer) if postgresql else String)
                      for name in ("visit_ids", "client_ids"))).columns(
        kind=String, key=String, t1=String, t2=Text, n1=Integer, n2=Integer, n3=Integer, ts=UTCDateTime, d=Date)


_FACTS = {postgresql: _facts_query(postgresql) for postgresql in (True, False)}
_LOCK_DATE = text("SELECT lock_date FROM units WHERE id = :id").columns(lock_date=Date)


class DbFacts:
    """`sync.events.Facts` answered from the database for one batch; also which of its ids are stored
    (`existing`: id → fingerprint) or quarantined (`quarantined`: id → (code, message)), and the outage gaps
    of its visits (`gaps`: [(outage_id, visit_id, worker_id)]) for the outage evaluation."""

    def __init__(self, rows):
        self.existing, self.quarantined, self.gaps, self._clients, self._lock_dates = {}, {}, [], {}, {}
        self._note_clients = {}
        visits, workers, former, interventions = [], {}, {}, {}
        for kind, key, t1, t2, n1, n2, n3, ts, d in rows:
            if kind == "e":
                self.existing[key] = t1
            elif kind == "q":
                self.quarantined[key] = (t1, t2)
            elif kind == "v":
                visits.append((n1, n2, n3, ts))
            elif kind == "w":
                workers.setdefault(n1, set()).add(n2)
            elif kind == "f":
                former.setdefault(n1, set()).add(n2)
            elif kind == "i":
                interventions.setdefault(n1, set()).add(n2)
            elif kind == "c":
                self._clients[n1] = n2
            elif kind == "u":
                self._lock_dates[n1] = d
            elif kind == "n":
                self._note_clients[key] = n1
            else:
                self.gaps.append((n1, n2, n3))
        self._visits = {vid: ev.VisitFacts(vid, unit_id, client_id, frozenset(workers.get(vid, ())),
                                           frozenset(interventions.get(vid, ())), start,
                                           frozenset(former.get(vid, ())))
                        for vid, unit_id, client_id, start in visits}

    @classmethod
    def read(cls, events, unit_id):
        """The facts of a batch of records (sync.events.Event) for a worker of `unit_id`, in one query."""
        postgresql = db.session.get_bind().dialect.name == "postgresql"
        return cls(db.session.execute(_FACTS[postgresql], {
            "event_ids": dbutil.ids({e.id for e in events}, postgresql), "unit_id": unit_id,
            "visit_ids": dbutil.ids({e.payload["visit_id"] for e in events if "visit_id" in e.payload}, postgresql),
            "client_ids": dbutil.ids({e.payload["client_id"] for e in events if "client_id" in e.payload},
                                     postgresql),
            "note_ids": dbutil.ids({str(e.payload["note_id"]) for e in events if "note_id" in e.payload},
                                   postgresql)}).all())

    def visit(self, visit_id):
        return self._visits.get(visit_id)

    def client_unit(self, client_id):
        return self._clients.get(client_id)

    def note_client(self, note_id):
        return self._note_clients.get(str(note_id))

    def lock_date(self, unit_id):
        if unit_id not in self._lock_dates:
            self._lock_dates[unit_id] = db.session.execute(_LOCK_DATE, {"id": unit_id}).scalar()
        return self._lock_dates[unit_id]


@dataclass
class ToStore:
    """A record that passed its checks, with who and where it comes from."""

    event: ev.Event
    raw: dict
    user: object
    unit_id: int
    device_id: object
    source: str
    skew: float
    flagged: bool
    recorded_by: object = None
    fingerprint: str = None  # fingerprint(raw), when the caller has it already


def store_events(items, facts=None):
    """Store records in the log (each id once) and apply every side effect of the new ones, in the caller's
    transaction: the projection, the access log of opened client records, the re-evaluation of the outage
    gaps of their visits. `facts`: the DbFacts the caller read (their `gaps`), else they are read here.
    Returns each item's new seq, or None where the id was already stored (a concurrent push won)."""
    if not items:
        return []
    for user_id in sorted({item.user.id for item in items}):
        lock_worker(user_id)  # re-entrant: a push already holds its worker's
    now, rows, first = utcnow(), [], {}
    for item in items:
        if item.event.id not in first:  # one statement must not name an id twice
            first[item.event.id] = item
            rows.append(_log_row(item, now))
    seqs = dict(dbutil.insert_new(Event.__table__, rows, returning=("id", "seq")))
    stored = [(seqs[row["id"]], first[row["id"]], row) for row in rows if row["id"] in seqs]
    projection_store.project([_applied(row, item) for _, item, row in stored])
    for _, item, row in stored:
        e = item.event
        if e.type == ev.CLIENT_RECORD_OPENED:  # HSLF-FS 2016:40: a reading offline is logged when it syncs
            log_access(item.user, e.payload["client_id"], f"open_{e.payload['view']}", device_id=item.device_id,
                       offline=True, at=row["occurred_at_corrected"], event_id=e.id)
    on_events_stored([(item, row) for _, item, row in stored])  # deviations and missed medication: told at once
    on_events_applied([(seq, item.event, item.user) for seq, item, _ in stored], facts)
    return [seqs.get(item.event.id) if first.get(item.event.id) is item else None for item in items]


def store_event(e: ev.Event, raw, *, user, unit_id, device_id, source, skew, flagged, recorded_by=None):
    """Store one record (once) with its side effects. Returns the new seq, or None if it existed."""
    return store_events([ToStore(e, raw, user, unit_id, device_id, source, skew, flagged, recorded_by)])[0]


def _log_row(item, now):
    e, raw = item.event, item.raw
    return dict(id=e.id, type=e.type, source=item.source, device_id=item.device_id, user_id=item.user.id,
                recorded_by=item.recorded_by, unit_id=item.unit_id, visit_id=e.payload.get("visit_id"),
                client_id=e.payload.get("client_id"), device_seq=e.device_seq, occurred_at=e.occurred_at,
                occurred_at_raw=str(raw.get("occurred_at"))[:40],
                occurred_at_corrected=corrected(e.occurred_at, item.skew), skew_seconds=item.skew,
                skew_flagged=item.flagged, payload=raw.get("payload", {}),  # exactly as written: the device's JSON
                fingerprint=item.fingerprint or fingerprint(raw), received_at=now)


def _applied(row, item):
    """What the projection folds for a stored row."""
    e = item.event
    at = ev.visit_time(e)
    if e.type in (ev.VISIT_STARTED, ev.VISIT_ENDED) and at is e.occurred_at:
        at = row["occurred_at_corrected"]  # an unadjusted time is the device clock's, so correct it too
    return {"type": e.type, "visit_id": e.payload.get("visit_id"), "user_id": item.user.id, "payload": e.payload,
            "payload_at": at, "source": item.source, "key": rank_key(item.source, row["occurred_at_corrected"], e.id)}
