"""Push: take a batch of device events into the log with exactly-once effect, and keep the projection current.

Exactly-once rests on the database, not on luck: the event id is UNIQUE and every insert is
`ON CONFLICT DO NOTHING`, so a retry, a resend or a concurrent duplicate from another process can
never store an event twice. The projection is updated with a rank-guarded upsert, the SQL twin of
`sync.projection` (tests check the two agree), so concurrent batches cannot overwrite a winner.
"""
import hashlib
import json
from collections import namedtuple
from dataclasses import dataclass
from datetime import timezone
from zoneinfo import ZoneInfo

import orjson
from flask import current_app
from marshmallow import ValidationError
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from sqlalchemy import ARRAY, Date, Float, Integer, String, Text, bindparam, select, text

from sync import events as ev
from sync.projection import rank_key
from sync.protocol import clock_skew, corrected

from .access_log import log_access
from .auth import DeferredAuth
from .dbutil import STALE_PREPARED, SqliteStatement, insert, pg_pipeline, pg_sql, sqlite_write_transaction
from .errors import ApiError
from .extensions import db
from .models import Event, Json, QuarantinedEvent, UTCDateTime, Unit, utcnow
from .push_groups import ALONE, Member, PushGroups
from .schemas import LeanLoader, Plausibility, PushRequestSchema, SealedEventSchema, event_loader
from .sealing import UnsealError, unseal, unseal_v2

# Stateless, so one each for every thread.
_PUSH_REQUEST, _SEALED_EVENT = LeanLoader(PushRequestSchema()), LeanLoader(SealedEventSchema())

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
    fingerprint: str  # fingerprint(raw): taken while parsing, before any transaction (3–4 µs an event)


# Everything a push must know before it decides, in one round trip: which ids are stored (with their
# fingerprints) or quarantined, the batch's visits with their workers and planned interventions, the
# clients it names, the unit's lock date, and the outage gaps of those visits (for the outages hook).
# One row shape for all of them (unused columns NULL).
def _facts_query(postgresql):
    """The facts query; each id list is one parameter — on PostgreSQL an array (`= ANY`), on SQLite a JSON array
    (json_each) — so its text is the same for any batch: 100 ids as separate parameters made a statement
    psycopg parsed anew on every push."""
    def among(name):
        return f"= ANY(:{name})" if postgresql else f"IN (SELECT value FROM json_each(:{name}))"

    users_unit = "(SELECT unit_id FROM users WHERE id = :user_id)"
    # PostgreSQL: the user's unit joins the array, so the branch is one index scan (an OR of two conditions
    # would need a bitmap scan, which the facts query's plan settings rule out)
    units = f"id = ANY(array_append(:unit_ids, {users_unit}))" if postgresql else \
        f"id {among('unit_ids')} OR id = {users_unit}"

    stmt = text(f"""
    SELECT 'e' AS kind, id AS key, fingerprint AS t1, CAST(NULL AS TEXT) AS t2, CAST(NULL AS INTEGER) AS n1,
           CAST(NULL AS INTEGER) AS n2, CAST(NULL AS INTEGER) AS n3, CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS ts,
           CAST(NULL AS DATE) AS d FROM events WHERE id {among("event_ids")}
    UNION ALL SELECT 'q', id, code, message, NULL, NULL, NULL, NULL, NULL FROM quarantined_events
           WHERE id {among("event_ids")}
    UNION ALL SELECT 'v', NULL, NULL, NULL, id, unit_id, client_id, planned_start, NULL FROM visits
           WHERE id {among("visit_ids")}
    UNION ALL SELECT 'w', NULL, NULL, NULL, visit_id, worker_id, NULL, NULL, NULL FROM visit_workers
           WHERE visit_id {among("visit_ids")}
    UNION ALL SELECT 'i', NULL, NULL, NULL, visit_id, intervention_id, NULL, NULL, NULL FROM visit_interventions
           WHERE visit_id {among("visit_ids")}
    UNION ALL SELECT 'c', NULL, NULL, NULL, id, unit_id, NULL, NULL, NULL FROM clients WHERE id {among("client_ids")}
    UNION ALL SELECT 'u', NULL, NULL, NULL, id, NULL, NULL, NULL, lock_date FROM units WHERE {units}
    UNION ALL SELECT 'g', NULL, NULL, NULL, outage_id, visit_id, worker_id, NULL, NULL FROM outage_gaps
           WHERE visit_id {among("visit_ids")}
    """)
    ints = ("visit_ids", "client_ids", "unit_ids")
    if postgresql:
        stmt = stmt.bindparams(bindparam("user_id", type_=Integer), bindparam("event_ids", type_=ARRAY(String)),
                               *(bindparam(name, type_=ARRAY(Integer)) for name in ints))
    else:
        stmt = stmt.bindparams(bindparam("user_id", type_=Integer), bindparam("event_ids", type_=String),
                               *(bindparam(name, type_=String) for name in ints))
    return stmt.columns(kind=String, key=String, t1=String, t2=Text, n1=Integer, n2=Integer, n3=Integer,
                        ts=UTCDateTime, d=Date)


_FACTS = {True: _facts_query(True), False: _facts_query(False)}
# On the pipelined path the facts query is a prepared statement that keeps one generic plan per connection: each
# branch an index lookup of the batch's ids, as good for one id as for a hundred. PostgreSQL would not keep it by
# itself: a plan made for the ids at hand always looks cheaper than the generic one, so it planned the eight
# branches afresh on every push (two thirds of the query's cost at a batch of ten, three quarters at a hundred).
# Plain index scans are required while it plans: a generic plan made while a table is still small (a new
# database) would scan that table whole for as long as the connection lives, and a bitmap scan's set-up costs more
# than looking up a few ids (the query's own work −11 %). JIT is off for it: with those scans ruled out, a branch
# that had no index to use would be costed so high that PostgreSQL compiled the query (100 ms and more a push).
_PG_FACTS = pg_sql(_FACTS[True])
# On SQLite the direct path runs it on the sqlite3 connection itself (dbutil.SqliteStatement).
_SQLITE_FACTS = SqliteStatement(_FACTS[False])


def _json_array(values):
    """An id list as the SQLite facts query takes it: a JSON array (json_each)."""
    return orjson.dumps(list(values)).decode()


# The worker's lock goes in the same statement (one statement fewer per push); the facts query, the next one,
# still reads after it is held.
_PG_LOCK_AND_PLAN_GENERIC = ("SELECT pg_advisory_xact_lock(%(ns)s, %(id)s),"
                             " set_config('plan_cache_mode', 'force_generic_plan', true),"
                             " set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),"
                             " set_config('jit', 'off', true)")
_PG_TRY_LOCK_AND_PLAN_GENERIC = _PG_LOCK_AND_PLAN_GENERIC.replace("pg_advisory_xact_lock", "pg_try_advisory_xact_lock")
_PG_PLAN_AS_CONFIGURED = [f"SET LOCAL {name} TO DEFAULT" for name in ("enable_seqscan", "enable_bitmapscan", "jit")]


def _pg_array(values):
    """An array parameter as PostgreSQL's text literal ('{57,58}', '{"3329a3d6-…"}'), which the query casts to
    its element type: psycopg's list dumpers inspect every element in Python (1 % of a push of one)."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _pg_lock_and_facts(ids, user_id, then_as_configured=True, wait=True):
    """The worker's lock and the facts query, for the pipeline: [(sql, params)], the facts' rows the second
    statement's. `then_as_configured`: the plan settings back as configured for what the transaction runs next
    (the direct path runs only its own inserts and updates next, whose plans they do not change). `wait`: for
    the lock; else (a group of pushes, which must not wait for one of them) the first statement's first column
    says whether it was taken."""
    params = DbFacts.params(*ids, user_id=user_id, array=_pg_array)
    lock = _PG_LOCK_AND_PLAN_GENERIC if wait else _PG_TRY_LOCK_AND_PLAN_GENERIC
    return [(lock, {"ns": WORKER_LOCK_NAMESPACE, "id": user_id}), (_PG_FACTS, params),
            # {}: no parameters, yet prepared like the rest — parsed once per connection, not on every push
            *([(sql, {}) for sql in _PG_PLAN_AS_CONFIGURED] if then_as_configured else [])]


class DbFacts:
    """`sync.events.Facts` answered from the database in one query per batch; for a push also which of
    its ids are already stored (`existing`: id → fingerprint) or quarantined (`quarantined`: id → (code,
    message)), and the outage gaps of its visits (`gaps`: [(outage_id, visit_id, worker_id)]).

    `rows`: the facts query's rows when the caller ran it (in a pipeline with the lock)."""

    def __init__(self, visit_ids, client_ids, event_ids=(), unit_ids=(), user_id=None, rows=None):
        self.existing, self.quarantined, self._clients, self._locks = {}, {}, {}, {}
        self._visits, self.gaps = {}, []
        workers, interventions, visits = {}, {}, []
        if rows is None:
            if not (visit_ids or client_ids or event_ids or unit_ids or user_id):
                return
            postgresql = db.engine.dialect.name == "postgresql"
            params = self.params(visit_ids, client_ids, event_ids, unit_ids, user_id,
                                 array=list if postgresql else _json_array)
            rows = db.session.execute(_FACTS[postgresql], params)
        for kind, key, t1, t2, n1, n2, n3, ts, d in rows:
            if kind == "e":
                self.existing[key] = t1
            elif kind == "q":
                self.quarantined[key] = (t1, t2)
            elif kind == "v":
                visits.append((n1, n2, n3, ts))
            elif kind == "w":
                workers.setdefault(n1, set()).add(n2)
            elif kind == "i":
                interventions.setdefault(n1, set()).add(n2)
            elif kind == "c":
                self._clients[n1] = n2
            elif kind == "u":
                self._locks[n1] = d
            else:
                self.gaps.append((n1, n2, n3))
        for vid, unit_id, client_id, start in visits:
            self._visits[vid] = ev.VisitFacts(vid, unit_id, client_id, frozenset(workers.get(vid, ())),
                                              frozenset(interventions.get(vid, ())),
                                              start.astimezone(timezone.utc))  # raw rows: the session's zone

    @staticmethod
    def params(visit_ids, client_ids, event_ids=(), unit_ids=(), user_id=None, array=list):
        """The facts query's parameters; `user_id`: also the lock date of that user's unit; `array`: how an id
        list goes to the engine (a list for SQLAlchemy on PostgreSQL, _pg_array for the pipeline, _json_array
        for SQLite)."""
        return {"event_ids": array(event_ids), "visit_ids": array(visit_ids), "client_ids": array(client_ids),
                "unit_ids": array(unit_ids), "user_id": user_id}

    def visit(self, visit_id):
        return self._visits.get(visit_id)

    def client_unit(self, client_id):
        return self._clients.get(client_id)

    def lock_date(self, unit_id):
        if unit_id not in self._locks:
            self._locks[unit_id] = db.session.execute(select(Unit.lock_date).where(Unit.id == unit_id)).scalar()
        return self._locks[unit_id]


# The fingerprint's canonical JSON: these exact bytes are stored with every event and compared on every resend,
# so its spelling never changes (Python's json: sorted keys, ASCII escapes). One encoder for all calls: json.dumps
# with options builds a new one each time.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def fingerprint(raw):
    canonical = {k: raw.get(k) for k in ("type", "occurred_at", "device_seq", "payload")}
    return hashlib.sha256(_CANONICAL.encode(canonical).encode()).hexdigest()


def parse_batch(body, device_id, scope, now):
    """Load the request at the edge: any structural fault → 422 for the whole batch, nothing applied."""
    cfg = current_app.config
    if isinstance(body, dict) and isinstance(body.get("events"), list) and len(body["events"]) > cfg["MAX_BATCH"]:
        raise ApiError(413, "batch_too_large", f"Högst {cfg['MAX_BATCH']} händelser per begäran.",
                       max_batch=cfg["MAX_BATCH"])
    request = _PUSH_REQUEST.load(body if isinstance(body, dict) else {"_": body})
    if request["device_id"] != device_id:
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
                                          data["payload"]), raw, sealed, fingerprint(raw)))
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


def _wins(field):
    return (f"excluded.{field}_key IS NOT NULL AND (registrations.{field}_key IS NULL"
            f" OR excluded.{field}_key > registrations.{field}_key)")


# The projection's guarded upserts (the SQL twin of sync.projection): a stored value is replaced only by a
# higher-ranked one, so concurrent batches and replays cannot overwrite a winner. As plain SQL sent as one
# executemany, the same text on PostgreSQL and SQLite; on the pipelined path the whole batch is one statement
# with one JSON parameter (as the log's insert), not a statement per row. Either way each row appears once
# per batch (_projection folds the batch first), as one INSERT … ON CONFLICT requires.
_REGISTRATION_COLUMNS = ("visit_id", "worker_id", "started_at", "started_key", "started_source", "ended_at",
                         "ended_key", "ended_source")
_REGISTRATION_CONFLICT = f"""
    ON CONFLICT (visit_id, worker_id) DO UPDATE SET
    {", ".join(f"{field}_{col} = CASE WHEN {_wins(field)} THEN excluded.{field}_{col} ELSE registrations.{field}_{col} END"
               for field in ("started", "ended") for col in ("at", "key", "source"))}"""
_INTERVENTION_COLUMNS = ("visit_id", "worker_id", "intervention_id", "status", "reason", "comment", "key", "source")
_INTERVENTION_CONFLICT = """
    ON CONFLICT (visit_id, worker_id, intervention_id) DO UPDATE SET
        status = excluded.status, reason = excluded.reason, comment = excluded.comment, key = excluded.key,
        source = excluded.source
    WHERE excluded.key > intervention_records.key"""


def _upsert(table, columns, conflict):
    return text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                f"{conflict}")


def _insert_json_rows(table, columns, tail=""):
    """PostgreSQL: INSERT a whole batch given as one JSON parameter (`rows`, see _json_rows) unpacked by
    jsonb_to_recordset. A multi-row VALUES of 100 × 18 parameters made psycopg re-parse a 40 kB statement on
    every push (a third of the time), and a statement per row costs a round of the protocol each."""
    from sqlalchemy.dialects import postgresql
    types = db.metadata.tables[table].c
    typed = ", ".join(f"{c} {types[c].type.compile(dialect=postgresql.dialect())}" for c in columns)
    return text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)}"
                f" FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({typed}){tail}")


def _json_rows(rows):
    """Rows as JSON for PostgreSQL to unpack: orjson (aware datetimes as ISO 8601, like isoformat()), a tenth
    of the json module's time for a batch of rows — which was a tenth of a push of ten events."""
    return orjson.dumps(rows).decode()


_UPSERT_REGISTRATIONS = _upsert("registrations", _REGISTRATION_COLUMNS, _REGISTRATION_CONFLICT).bindparams(
    bindparam("started_at", type_=UTCDateTime), bindparam("ended_at", type_=UTCDateTime))
_UPSERT_INTERVENTIONS = _upsert("intervention_records", _INTERVENTION_COLUMNS, _INTERVENTION_CONFLICT)
_PG_UPSERT_REGISTRATIONS = pg_sql(_insert_json_rows("registrations", _REGISTRATION_COLUMNS, _REGISTRATION_CONFLICT))
_PG_UPSERT_INTERVENTIONS = pg_sql(_insert_json_rows("intervention_records", _INTERVENTION_COLUMNS,
                                                    _INTERVENTION_CONFLICT))


def _rows_param(rows):
    """A batch of rows as the one JSON parameter of a jsonb_to_recordset statement (none: the statement is
    skipped)."""
    return [{"rows": _json_rows(rows)}] if rows else []


def _projection(rows):
    """The projection rows that applied events fold into: (registrations, interventions); the SQL mirrors
    sync.projection.

    Within a batch only the highest-ranked record per row can win (the fold is a max), so each row is
    written once, in one batched statement per table; the guarded upsert still decides against what is
    already stored (and against concurrent batches)."""
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
    registrations, interventions = {}, []
    for group, row in sorted(best.items(), key=lambda item: str(item[0])):  # a stable lock order
        if group[0] == ev.INTERVENTION_RECORDED:
            p = row["payload"]
            interventions.append({"visit_id": p["visit_id"], "worker_id": row["user_id"],
                                  "intervention_id": p["intervention_id"], "status": p["status"],
                                  "reason": p.get("reason"), "comment": p.get("comment"), "key": row["key"],
                                  "source": row["source"]})
            continue
        field = "started" if group[0] == ev.VISIT_STARTED else "ended"
        reg = registrations.setdefault(group[1:], {
            "visit_id": row["visit_id"], "worker_id": row["user_id"], "started_at": None, "started_key": None,
            "started_source": None, "ended_at": None, "ended_key": None, "ended_source": None})
        reg.update({f"{field}_at": row["payload_at"], f"{field}_key": row["key"], f"{field}_source": row["source"]})
    return [registrations[k] for k in sorted(registrations)], interventions


def _project(rows):
    registrations, interventions = _projection(rows)
    if registrations:
        db.session.execute(_UPSERT_REGISTRATIONS, registrations)
    if interventions:
        db.session.execute(_UPSERT_INTERVENTIONS, interventions)


WORKER_LOCK_NAMESPACE = 0x4876  # "Hv": first key of the per-worker advisory lock
_LOCK_WORKER = text("SELECT pg_advisory_xact_lock(:ns, :id)")


def lock_worker(user_id):
    """Serialise one worker's concurrent writes until commit (PostgreSQL; SQLite has one writer anyway).

    Two phones of one worker, a retry racing its own first attempt, or a backfill touch the same event ids
    and projection rows in any order; without this they can deadlock (found by the soak test)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(_LOCK_WORKER, {"ns": WORKER_LOCK_NAMESPACE, "id": user_id})


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
    fingerprint: str = None  # fingerprint(raw), when the caller has it already


_EVENT_COLUMNS = ("id", "type", "source", "device_id", "user_id", "recorded_by", "unit_id", "visit_id", "client_id",
                  "device_seq", "occurred_at", "occurred_at_raw", "occurred_at_corrected", "skew_seconds",
                  "skew_flagged", "payload", "fingerprint", "received_at")


def _pg_insert_events(on_conflict=" ON CONFLICT (id) DO NOTHING"):
    """PostgreSQL: the whole batch into the log in one statement (see _insert_json_rows)."""
    return _insert_json_rows("events", _EVENT_COLUMNS, f"{on_conflict} RETURNING id, seq")


_PG_INSERT_EVENTS = _pg_insert_events()
# The fast path's insert: every id must be new (a unique violation says a concurrent push stored one)
_PG_INSERT_NEW_EVENTS_SQL = pg_sql(_pg_insert_events(on_conflict=""))


class Raced(Exception):
    """A pipelined push found one of its new ids stored by a concurrent transaction (see store_events)."""


def pipelined():
    """Whether pushes take the pipelined path: PostgreSQL through psycopg (3)."""
    return db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "psycopg"


def direct_capable():
    """Whether the engine takes the direct push (push_direct): PostgreSQL through psycopg (3), SQLite through the
    sqlite3 module."""
    return pipelined() or (db.engine.dialect.name == "sqlite" and db.engine.dialect.driver == "pysqlite")


def _insert_events(rows):
    """Insert rows into the log, each id at most once; returns {id: seq} of those that were new."""
    if db.engine.dialect.name == "postgresql":
        return dict(db.session.execute(_PG_INSERT_EVENTS, {"rows": _json_rows(rows)}).all())
    # SQLite: executemany with RETURNING (SQLAlchemy's "insertmanyvalues"); conflicting ids return no row,
    # so the answer is matched by id, not order
    table = Event.__table__
    return dict(db.session.execute(insert(table).on_conflict_do_nothing(index_elements=["id"])
                                   .returning(table.c.id, table.c.seq), rows).all())


def store_events(items, locked=(), facts=None, fast=False, also=(), commit=False):
    """Insert events into the log (each id once) in one statement and project the new ones.

    `locked`: workers whose lock this transaction already holds. `facts`: the DbFacts the caller read (the
    hooks use what they hold). Returns each item's new seq, or None where the id was already stored (a
    concurrent push won).

    `fast` (PostgreSQL, every item's worker locked, each id checked absent under that lock): the insert,
    the projection of every item and the `also` statements ([(sql, params)] for psycopg) go in one round
    trip — with the COMMIT too if the caller asks (`commit`) and nothing else is left for the transaction
    (no access-log rows, no hook with work, nothing pending in the session). Under the lock only another
    worker's concurrent push of the same id can collide; then the insert fails as a whole (nothing is
    committed), and this raises Raced: the caller must roll back and take the slow path."""
    if not items:
        if also:
            pg_pipeline(also)
        return []
    for user_id in sorted({item.user.id for item in items} - set(locked)):
        lock_worker(user_id)
    rows, first = _log_rows(items, utcnow())
    quiet = False
    if fast:
        quiet = commit and _nothing_left(rows, facts)
        results = _pg_store_new(rows, first, [*also, *([("COMMIT", None)] if quiet else [])])
        seqs = dict(results[0])
        stored = [(seqs[row["id"]], first[row["id"]].event, first[row["id"]].user) for row in rows]
    else:
        seqs = _insert_events(rows)
        applied, stored = [], []
        for row in rows:
            seq = seqs.get(row["id"])
            if seq is None:
                continue
            applied.append(_applied(row, first[row["id"]]))
            stored.append((seq, first[row["id"]].event, first[row["id"]].user))
        _project(applied)
    for seq, e, user in stored:
        if e.type == ev.CLIENT_RECORD_OPENED:
            log_access(user, e.payload["client_id"], f"open_{e.payload['view']}", device_id=first[e.id].device_id,
                       offline=True, at=corrected(e.occurred_at, first[e.id].skew), event_id=e.id)
        for hook in after_apply_hooks:
            hook(seq, e, user)
    if stored and not quiet:
        for hook in after_apply_batch_hooks:
            hook(stored, facts)
    return [seqs.get(item.event.id) if first.get(item.event.id) is item else None for item in items]


def _log_rows(items, now):
    """The log's rows of ToStore items, each id once (the caller answers repeats itself; one statement must not
    name an id twice): (rows, {id: the item it came from})."""
    rows, first = [], {}
    for item in items:
        e, raw = item.event, item.raw
        if e.id in first:
            continue
        first[e.id] = item
        corrected_at = corrected(e.occurred_at, item.skew)
        rows.append(dict(
            id=e.id, type=e.type, source=item.source, device_id=item.device_id, user_id=item.user.id,
            recorded_by=item.recorded_by, unit_id=item.unit_id, visit_id=e.payload.get("visit_id"),
            client_id=e.payload.get("client_id"), device_seq=e.device_seq, occurred_at=e.occurred_at,
            occurred_at_raw=str(raw.get("occurred_at"))[:40], occurred_at_corrected=corrected_at,
            skew_seconds=item.skew, skew_flagged=item.flagged,
            payload=raw.get("payload", {}),  # exactly as written: the device's JSON
            fingerprint=item.fingerprint or fingerprint(raw), received_at=now))
    return rows, first


def _nothing_left(rows, facts):
    """Whether a fast store leaves nothing for its transaction after the pipeline: no access-log row to
    add, no per-event hook, every batch hook idle for these facts (`hook.idle(facts)`), nothing pending in
    the session — so the COMMIT can go in the pipeline."""
    session = db.session
    return (_hooks_idle(facts) and not any(row["type"] == ev.CLIENT_RECORD_OPENED for row in rows)
            and not (session.new or session.dirty or session.deleted))


def _hooks_idle(facts):
    """Whether no hook has work for a batch with these facts: no per-event hook, every batch hook idle."""
    return (facts is not None and not after_apply_hooks
            and all(getattr(hook, "idle", lambda _: False)(facts) for hook in after_apply_batch_hooks))


def _pg_store_new(rows, first, after, conn=None):
    """PostgreSQL, in one round trip on the session's connection (or `conn`): the log's new rows (each id must
    be new: a unique violation raises Raced), the projection of all of them, then the `after` statements.
    Returns pg_pipeline's results (the first: (id, seq) of each row)."""
    registrations, interventions = _projection([_applied(row, first[row["id"]]) for row in rows])
    try:
        return pg_pipeline([(_PG_INSERT_NEW_EVENTS_SQL, {"rows": _json_rows(rows)}),
                            (_PG_UPSERT_REGISTRATIONS, _rows_param(registrations)),
                            (_PG_UPSERT_INTERVENTIONS, _rows_param(interventions)), *after],
                           conn=conn)
    except UniqueViolation as exc:
        if exc.diag.table_name != "events":
            raise
        raise Raced() from exc


def _applied(row, item):
    """What the projection folds for a stored row."""
    e = item.event
    at = ev.visit_time(e)
    if e.type in (ev.VISIT_STARTED, ev.VISIT_ENDED) and at is e.occurred_at:
        at = row["occurred_at_corrected"]  # an unadjusted time is the device clock's, so correct it too
    return {"type": e.type, "visit_id": e.payload.get("visit_id"), "user_id": item.user.id, "payload": e.payload,
            "payload_at": at, "source": item.source, "key": rank_key(item.source, row["occurred_at_corrected"], e.id)}


def store_event(e: ev.Event, raw, *, user, unit_id, device_id, source, skew, flagged, recorded_by=None):
    """Insert one event into the log (once) and project it. Returns the new seq, or None if it existed."""
    return store_events([ToStore(e, raw, user, unit_id, device_id, source, skew, flagged, recorded_by)])[0]


def push(auth, read_body):
    """Apply one push request; returns the response body. Commits once, so a batch is all-or-nothing
    at the transport level while each event gets its own verdict. (On PostgreSQL the common push is answered
    before it gets here, by push_direct; this full path takes every push that one gives up.)

    `auth` (auth.DeferredAuth): the token's signature is valid; its database check is still to do, and on
    PostgreSQL it goes in the push's first round trip with the worker's lock and the facts. Nothing is
    answered before it passed: a body that cannot be read, from a token that is no longer valid, is a 401."""
    now = utcnow()
    claims = auth.claims
    try:
        request, parsed = parse_batch(read_body(), claims.device_id, claims.scope, now)
    except (ApiError, ValidationError):
        auth.admit_from_query()
        raise
    if pipelined():
        try:
            return _apply(auth, request, parsed, now, fast=True)
        except Raced:  # rare: another worker's push stored one of these ids a moment ago
            db.session.rollback()
        except STALE_PREPARED:  # rarer: the connection's prepared statements were dropped or went stale
            db.session.rollback()
    return _apply(auth, request, parsed, now, fast=False)


def _batch_ids(parsed):
    """What the facts query looks up for a batch: (visit ids, client ids, event ids)."""
    return ({p.event.payload["visit_id"] for p in parsed if "visit_id" in p.event.payload},
            {p.event.payload["client_id"] for p in parsed if "client_id" in p.event.payload},
            {p.event.id for p in parsed})


class _GiveUp(Exception):
    """The direct path met something only the full path does (see push_direct); it has changed nothing."""


def push_direct(auth, body):
    """The common push, answered without Flask's request and the ORM session (see server.direct_push): parsed,
    checked and stored exactly as `push` does, on a pooled connection — on PostgreSQL in the same two round
    trips, the commit in the second, shared with the pushes that arrive meanwhile (server.push_groups); on SQLite
    with the sqlite3 connection's own statements in one write transaction. Returns the response body — or None,
    having changed nothing, where the push needs more than that, and the full path (`push`, under Flask) then
    takes it from the start: a body or a token it refuses (it answers why, and logs a refused role), a record to
    quarantine (a revoked device, a failed check), an outage gap of these visits to re-evaluate, an access-log
    row to write, a concurrent push of one of the ids, prepared statements gone stale.

    `auth`: the token's auth.DeferredAuth (its signature checked), `body`: the request's JSON."""
    now = utcnow()
    try:
        request, parsed = parse_batch(body, auth.claims.device_id, auth.claims.scope, now)
    except (ApiError, ValidationError):
        return None
    batch = _DirectBatch(auth.claims, request, parsed, now)
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:  # back to the pool when done; rolled back there unless committed
            try:
                store = _SqliteDirect(conn, batch)  # converts the rows' values before the writer's lock
                with sqlite_write_transaction(conn) as store.raw:
                    return _apply_direct(store, auth, batch)
            except (_GiveUp, Raced, *STALE_PREPARED):
                return None
    groups = current_app.extensions.get("push_groups")
    if groups is None:
        groups = current_app.extensions.setdefault("push_groups", PushGroups(_pg_group))
    answer = groups.submit((auth, batch), auth.claims.user_id)
    if answer is ALONE:  # its group could not take it (a lock held elsewhere, an id shared) or failed: by itself
        alone = Member((auth, batch), auth.claims.user_id)
        _pg_group([alone])
        answer = alone.answer
    return None if answer is ALONE else answer  # (a group of one never answers ALONE; if it did: the full path)


# The worker a token names, as ToStore.user before the transaction has read the user (only its id is used)
_TokenWorker = namedtuple("_TokenWorker", "id")


class _DirectBatch:
    """A push as the direct path takes it, with what needs no database worked out before its transaction (on
    SQLite before the writer's lock, which one push holds at a time): the clock skew, the ids to look up, and
    each record's row for the log as it will be stored if accepted. The token names the worker and the device
    (the transaction admits them only if they are the token's); the worker's unit is read in the transaction,
    so `rows` leave `unit_id` to it."""

    def __init__(self, claims, request, parsed, now):
        cfg = current_app.config
        self.request, self.parsed, self.now, self.tz = request, parsed, now, ZoneInfo(cfg["TIMEZONE"])
        self.skew = clock_skew(now, request["status"]["device_clock"])
        flagged = abs(self.skew) > cfg["CLOCK_SKEW_FLAG_SECONDS"]
        self.ids = _batch_ids(parsed)
        worker = _TokenWorker(claims.user_id)
        rows, self.first = _log_rows([ToStore(p.event, p.raw, worker, None, claims.device_id, ev.SOURCE_DEVICE,
                                              self.skew, flagged, fingerprint=p.fingerprint) for p in parsed], utcnow())
        self.rows = {row["id"]: row for row in rows}  # id → row (unit_id None)


def _apply_direct(store, auth, batch):
    """The direct push's transaction on SQLite (_SqliteDirect reads and writes)."""
    found, facts_rows = store.read(auth, batch.ids)
    rows, status, answer = _decide(auth, batch, found, facts_rows)
    store.write(rows, batch.first, status)
    return answer


def _decide(auth, batch, found, facts_rows):
    """What the direct path stores for a push, from what its transaction read — the token's device and user
    (`found`: a row or None) and the facts' rows: (the log's rows, the device's status, the answer once
    committed). Raises _GiveUp where the full path must take the push."""
    admitted = auth.admits(found)
    if admitted is None or admitted[1].revoked_at is not None:
        raise _GiveUp()
    user, device = admitted  # the token's (auth._check): the worker and device the batch's rows name
    facts = DbFacts(*batch.ids, rows=facts_rows)
    if not _hooks_idle(facts):
        raise _GiveUp()
    results, accepted, refused = _verdicts(batch.parsed, facts, user, False, batch.tz)
    if refused or any(p.event.type == ev.CLIENT_RECORD_OPENED for _, p in accepted):
        raise _GiveUp()
    rows = [batch.rows[p.event.id] for _, p in accepted]
    for row in rows:
        row["unit_id"] = user.unit_id
    for i, p in accepted:
        results[i] = {"id": p.event.id, **_APPLIED}
    return (rows, _status_params(device, batch.request["status"], batch.skew, batch.now),
            {"server_time": batch.now, "skew_seconds": round(batch.skew, 3), "results": results})


def _pg_group(group):
    """The direct push on PostgreSQL for a group of pushes (server.push_groups; one push is a group of one), in
    one transaction on a connection of the engine: one round trip for every push's token check, its worker's
    lock and its facts, one for all their log rows, projection and device statuses and the commit. Sets each
    member's answer: the push's response body, None where the full path must take it (_decide), ALONE where
    it must run again by itself (its worker's lock is held elsewhere — a group takes the locks without waiting,
    so no push holds up the others; an id another push of the group stores too; the whole group failing).

    A group of one that fails is answered None (a race, stale prepared statements) or raises, as a push without
    groups would; a larger group's failure — a deadlock with another process, a race between two of its pushes,
    anything — answers each member ALONE, and nothing of it was stored."""
    group = sorted(group, key=lambda member: member.key)
    shared = len(group) > 1
    statements = []
    for member in group:
        auth, batch = member.work
        statements += [(auth.PG_QUERY, auth.params),
                       *_pg_lock_and_facts(batch.ids, auth.claims.user_id, then_as_configured=False, wait=not shared)]
    try:
        with db.engine.connect() as conn:  # back to the pool when done; rolled back there unless committed
            read = pg_pipeline(statements, conn=conn)
            stored, rows, first, statuses, ids = [], [], {}, [], set()
            for k, member in enumerate(group):
                auth, batch = member.work
                found, locked, facts_rows = read[3 * k:3 * k + 3]
                if shared and not locked[0][0]:
                    continue  # its worker's lock is held elsewhere: it waits for it by itself, after the group
                try:
                    mine, status, answer = _decide(auth, batch, found[0] if found else None, facts_rows)
                except _GiveUp:
                    member.answer = None
                    continue
                if any(row["id"] in ids for row in mine):
                    continue  # two pushes of one record: this one after the group (ALONE), to see the other
                ids.update(row["id"] for row in mine)
                rows += mine
                first.update((row["id"], batch.first[row["id"]]) for row in mine)
                statuses.append(_pg_status(status))
                stored.append((member, answer))
            if stored:
                finish = [(_PG_REMEMBER_STATUS, statuses), ("COMMIT", None)]
                if rows:
                    _pg_store_new(rows, first, finish, conn=conn)
                else:
                    pg_pipeline(finish, conn=conn)
    except (Raced, *STALE_PREPARED):  # (a member's _GiveUp is its own: answered None above)
        for member in group:
            member.answer = None if len(group) == 1 else ALONE
        return
    except Exception:
        if len(group) == 1:
            raise
        current_app.logger.warning("a group of %d pushes failed; each runs again alone", len(group), exc_info=True)
        for member in group:
            member.answer = ALONE
        return
    for member, answer in stored:
        member.answer = answer


class _SqliteDirect:
    """The direct push on SQLite: statements on the sqlite3 connection of `conn`, in the write transaction that
    dbutil.sqlite_write_transaction began (`raw`: so what it reads cannot change before it commits).

    The log's rows have their values converted for sqlite3 here, before that transaction: a batch of 100
    spent a quarter of its time under the writer's lock on it (10 µs a row: datetimes, the payload's JSON)."""

    def __init__(self, conn, batch):
        self.conn, self.raw = conn, None
        self._event_args = {key: _SQLITE_INSERT_EVENTS.args(row) for key, row in batch.rows.items()}

    def read(self, auth, ids):
        found = _SQLITE_DEVICE_AND_USER.all(self.conn, auth.params)
        rows = _SQLITE_FACTS.all(self.conn, DbFacts.params(*ids, user_id=auth.claims.user_id, array=_json_array))
        return (found[0] if found else None), rows

    def write(self, rows, first, status):
        if rows:  # each row is its batch row with the worker's unit: converted before, but for that
            _SQLITE_INSERT_EVENTS.executemany_args(self.conn, [
                _SQLITE_INSERT_EVENTS.with_value(self._event_args[row["id"]], "unit_id", row["unit_id"])
                for row in rows])
            registrations, interventions = _projection([_applied(row, first[row["id"]]) for row in rows])
            _SQLITE_UPSERT_REGISTRATIONS.executemany(self.conn, registrations)
            _SQLITE_UPSERT_INTERVENTIONS.executemany(self.conn, interventions)
        _SQLITE_REMEMBER_STATUS.execute(self.conn, status)
        self.raw.commit()


def _apply(auth, request, parsed, now, fast):
    """The transaction of a push. `fast` (PostgreSQL): the token's device check, the lock and the facts in
    one round trip, the log, the projection and the device status in another, then the commit; else one
    statement at a time."""
    cfg = current_app.config
    status = request["status"]
    skew = clock_skew(now, status["device_clock"])
    flagged = abs(skew) > cfg["CLOCK_SKEW_FLAG_SECONDS"]
    ids = _batch_ids(parsed)
    # The lock comes before reading what exists, so the answers are those of a serial order. On the fast path
    # it is the token's worker's: if the token does not pass, nothing else happens (the request rolls back).
    if fast:
        found, _, rows, *_ = pg_pipeline([(auth.PG_QUERY, auth.params), *_pg_lock_and_facts(ids, auth.claims.user_id)])
        user, device = auth.admit(found[0] if found else None)
        facts = DbFacts(*ids, rows=rows)
    else:
        user, device = auth.admit_from_query()
        lock_worker(user.id)
        facts = DbFacts(*ids, user_id=user.id)
    revoked = device.revoked_at is not None
    results, accepted, refused = _verdicts(parsed, facts, user, revoked, ZoneInfo(cfg["TIMEZONE"]))
    for i, code, message in refused:
        results[i] = _quarantine(parsed[i], user, device, skew, code, message)
    remember = _status_params(device, status, skew, now)
    seqs = store_events([ToStore(p.event, p.raw, user, user.unit_id, device.id, ev.SOURCE_DEVICE, skew, flagged,
                                 fingerprint=p.fingerprint) for _, p in accepted], locked=(user.id,),
                        facts=facts, fast=fast, commit=fast,
                        also=[(_PG_REMEMBER_STATUS, _pg_status(remember))] if fast else ())
    raced = [p.event.id for (_, p), seq in zip(accepted, seqs) if seq is None]
    won_elsewhere = dict(db.session.execute(select(Event.id, Event.fingerprint).where(Event.id.in_(raced))).all()) \
        if raced else {}
    for (i, p), seq in zip(accepted, seqs):
        if seq is None:  # a concurrent push of the same id won the race a moment ago
            results[i] = _answer_existing(p, won_elsewhere.get(p.event.id))
        else:
            results[i] = {"id": p.event.id, **_APPLIED}
    if not fast:
        db.session.execute(_REMEMBER_STATUS, remember)
    db.session.commit()
    body = {"server_time": now, "skew_seconds": round(skew, 3), "results": results}
    if revoked:
        body["wipe"] = True
    return body


def _verdicts(parsed, facts, user, revoked, tz):
    """Each event's answer as far as the facts decide it: (results, accepted, refused). `results`: the answers
    for ids stored or quarantined before (None elsewhere); `accepted`: [(position, Parsed)] to store, each id
    once (a repeat within the batch is answered as stored before); `refused`: [(position, code, message)] to
    quarantine — every event of a revoked device, and those the domain's checks reject."""
    existing, quarantined = facts.existing, facts.quarantined
    results = [None] * len(parsed)
    accepted, refused = [], []
    for i, p in enumerate(parsed):
        e = p.event
        if e.id in existing:  # stored before, or earlier in this very batch
            results[i] = _answer_existing(p, existing[e.id])
        elif e.id in quarantined:
            code, message = quarantined[e.id]
            results[i] = {"id": e.id, "status": "rejected", "code": code, "message": message}
        elif revoked:
            refused.append((i, "device_revoked", "Enheten är spärrad; posten granskas av en administratör."))
        else:
            rejection = ev.check(e, user.id, user.unit_id, facts, tz)
            if rejection:
                refused.append((i, rejection.code, rejection.message))
            else:
                existing[e.id] = p.fingerprint
                accepted.append((i, p))
    return results, accepted, refused


_APPLIED = {"status": "applied", "code": "applied", "message": "Sparad."}


def _answer_existing(p, stored_fingerprint):
    if stored_fingerprint == p.fingerprint:
        return {"id": p.event.id, "status": "duplicate", "code": "already_applied", "message": "Redan mottagen."}
    return {"id": p.event.id, "status": "rejected", "code": "id_reused",
            "message": "Ett annat innehåll har redan lämnats in med samma id."}


# One UPDATE, not the ORM's load-modify-flush: the device row is written on every push.
_REMEMBER_STATUS = text("""
    UPDATE devices SET last_seen_at = :now, last_push_at = :now, status_pending = :pending,
        status_oldest_pending_at = :oldest, status_device_clock = :clock, status_app_version = :version,
        status_reported_at = :now, last_skew_seconds = :skew, status_extra = :extra
    WHERE id = :id
""").bindparams(bindparam("now", type_=UTCDateTime), bindparam("oldest", type_=UTCDateTime),
                bindparam("clock", type_=UTCDateTime), bindparam("skew", type_=Float), bindparam("extra", type_=Json))


_PG_REMEMBER_STATUS = pg_sql(_REMEMBER_STATUS)


def _pg_status(params):
    return dict(params, extra=Jsonb(params["extra"]) if params["extra"] is not None else None)


def _status_params(device, status, skew, now):
    extra = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in status.items()
             if k in ("failed_syncs", "last_failed_sync_at", "copy_as_of")}
    return {"id": device.id, "now": now, "pending": status["pending"], "oldest": status.get("oldest_pending_at"),
            "clock": status["device_clock"], "version": status["app_version"], "skew": skew, "extra": extra or None}


_SQLITE_DEVICE_AND_USER = SqliteStatement(DeferredAuth.QUERY)
# the direct path's insert: every id is new (checked in the same write transaction)
_SQLITE_INSERT_EVENTS = SqliteStatement(Event.__table__.insert(), column_keys=_EVENT_COLUMNS)
_SQLITE_UPSERT_REGISTRATIONS = SqliteStatement(_UPSERT_REGISTRATIONS)
_SQLITE_UPSERT_INTERVENTIONS = SqliteStatement(_UPSERT_INTERVENTIONS)
_SQLITE_REMEMBER_STATUS = SqliteStatement(_REMEMBER_STATUS)
