"""Small helpers for writing SQL that behaves the same on SQLite and PostgreSQL."""
import fcntl
import itertools
import os
import re
import select
import sys
import threading
import time
from contextlib import contextmanager

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError

from .extensions import db


def insert(table):
    """An INSERT that supports ON CONFLICT on the current engine (both dialects spell it alike)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# PostgreSQL's hot path (the push): a few statements sent in one round trip with libpq's pipeline mode, on the
# session's own connection and transaction (or, for the direct push, on a connection of the engine without a session). Each statement still runs on its own, in order, with its own
# snapshot (so a read after an advisory lock sees what the lock's holder committed).
#
# This drives libpq (psycopg.pq) directly and leaves adaptation to psycopg: its Transformer dumps the
# parameters and loads the rows, its error classes are raised. psycopg's Pipeline object cost about five times
# the CPU for the same statements (it runs its generators and flushes the socket statement by statement): on a
# push of one event, a third of the worker's time. What psycopg would do implicitly is done here: BEGIN when
# the connection is idle, each statement prepared once per connection, the first error raised.

def pg_sql(stmt):
    """The SQL text psycopg runs for a SQLAlchemy statement (compiled once, at import)."""
    from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
    return str(stmt.compile(dialect=psycopg_dialect.dialect()))


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_converted = {}  # SQL with %(name)s placeholders → (the same with $1, $2 … as bytes, parameter names in order)
_names = itertools.count()  # prepared statement names, never reused
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
# What a prepared statement of ours can fail with when it went stale: dropped (DEALLOCATE ALL, a pooler), or
# its result type changed by an ALTER ("cached plan must not change result type"). The transaction is aborted;
# the caller may redo its work another way, and the next pipeline prepares afresh.
STALE_PREPARED = (psycopg.errors.InvalidSqlStatementName, psycopg.errors.FeatureNotSupported)


def _convert(sql):
    hit = _converted.get(sql)
    if hit is None:
        names = []

        def number(match):
            if match.group(0) == "%%":
                return "%"
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"
        hit = _converted[sql] = (_PLACEHOLDER.sub(number, sql).encode(), tuple(names))
    return hit


def _begin(raw):
    """The statement that opens a transaction on this connection, as psycopg spells it; None when none is
    needed (autocommit, or a transaction is already open)."""
    if raw.autocommit or raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return None
    parts = ["BEGIN"]
    if raw.isolation_level is not None:
        parts.append("ISOLATION LEVEL " + psycopg.IsolationLevel(raw.isolation_level).name.replace("_", " "))
    if raw.read_only is not None:
        parts.append("READ ONLY" if raw.read_only else "READ WRITE")
    if raw.deferrable is not None:
        parts.append("DEFERRABLE" if raw.deferrable else "NOT DEFERRABLE")
    return " ".join(parts).encode()


def pg_pipeline(statements, conn=None):
    """Run [(sql, params), ...] in one round trip on the session's connection, or on `conn` (a Connection of
    the engine) if given; params is a dict (the statement prepared once per connection;
    {} for one without parameters), None (the SQL sent as it is, parsed each time), or a list of dicts for an
    executemany (an empty list skips the statement). Returns each statement's rows, None where it
    returns none (an executemany returns none). Raises the first statement's error as psycopg would (the
    transaction is then aborted). A connection that breaks meanwhile, or holds a half-sent pipeline after a
    failure on our side (a value psycopg cannot adapt), is invalidated, as SQLAlchemy does for its own
    statements, so the pool never hands it out again."""
    conn = conn if conn is not None else db.session.connection()
    raw = conn.connection.driver_connection
    # the engine's cursor events still fire, if anyone listens (tracing, statement counters, the tests' tracker)
    before, after = conn.dispatch.before_cursor_execute, conn.dispatch.after_cursor_execute
    cursor = raw.cursor() if before or after else None
    if before:
        for sql, params in statements:
            before(conn, cursor, sql, params, None, isinstance(params, list))
    info = conn.connection.info
    state = info.get("pg_pipeline")
    if state is None or state.tx.connection is not raw:
        state = info["pg_pipeline"] = _PerConnection(raw)
    try:
        out = _roundtrip(raw, statements, state)
    except BaseException:
        # A statement's error leaves a sound connection (its transaction aborted); one that broke, or a failure
        # midway that left a half-sent pipeline behind, must never be handed out again.
        if raw.broken or raw.closed or raw.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            info.pop("pg_pipeline", None)
            conn.invalidate()
        raise
    if after:
        for sql, params in statements:
            after(conn, cursor, sql, params, None, isinstance(params, list))
    return out


class _PerConnection:
    """What the pipeline keeps per connection, in the pool record's info (SQLAlchemy clears it when the record
    gets a new connection, so nothing here outlives its connection or keeps it alive): the names of the
    statements prepared on it ({(query, parameter types): name}), and one psycopg Transformer, kept as a cursor
    keeps its own — it remembers the dumper of each Python type and the loader of each column type, which a new
    one looks up again (5 % of a push of one)."""

    def __init__(self, raw):
        self.tx, self.prepared = Transformer(raw), {}


def _roundtrip(raw, statements, state):
    pgconn = raw.pgconn
    tx, prepared = state.tx, state.prepared
    sent = []  # per result to come: (index of its statement or None, the prepared key it creates or None)
    begin = _begin(raw)
    pgconn.enter_pipeline_mode()  # left on if anything below raises: pg_pipeline then invalidates the connection
    if begin:
        pgconn.send_query_params(begin, None)
        sent.append((None, None))
    for index, (sql, params) in enumerate(statements):
        if params is None:
            pgconn.send_query_params(sql.encode(), None)
            sent.append((index, None))
            continue
        query, names = _convert(sql)
        for one in (params if isinstance(params, list) else [params]):
            values = tx.dump_sequence([one[name] for name in names], [PyFormat.AUTO] * len(names))
            key = (query, tx.types)
            name = prepared.get(key)
            if name is None:
                name = prepared[key] = f"hv_{next(_names)}".encode()  # (forgotten below if it fails)
                pgconn.send_prepare(name, query, param_types=tx.types)
                sent.append((None, key))
            pgconn.send_query_prepared(name, values, param_formats=tx.formats)
            sent.append((index, None))
    pgconn.pipeline_sync()
    results = _exchange(pgconn)
    pgconn.exit_pipeline_mode()
    out = [None] * len(statements)
    error = None
    for (index, key), result in zip(sent, results):
        if result.status not in _OK:
            if key is not None:
                prepared.pop(key, None)  # not prepared after all: the next use prepares it
            if error is None and result.status != pq.ExecStatus.PIPELINE_ABORTED:
                error = psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
        elif index is not None and result.status == pq.ExecStatus.TUPLES_OK \
                and not isinstance(statements[index][1], list):
            tx.set_pgresult(result)
            out[index] = tx.load_rows(0, result.ntuples, tuple)
    if isinstance(error, STALE_PREPARED):
        prepared.clear()  # dropped behind our back, or their tables changed under them: prepare them again
    if error is not None:
        raise error
    if len(results) != len(sent):
        raise psycopg.OperationalError(f"{len(sent)} results expected from the pipeline, {len(results)} came")
    return out


def _socket_waits():
    """(wait until a socket is readable, wait until it is readable or writable), each taking its descriptor.

    Under gevent (its monkey patch of `select` in place when this module is imported, as in gunicorn's gevent
    workers) the waits go straight to gevent's hub: cooperative, and cheaper than gevent's emulation of poll
    objects (about 50,000 instructions fewer per push of one). Otherwise poll(2), the GIL released."""
    if "gevent.monkey" in sys.modules and sys.modules["gevent.monkey"].is_module_patched("select"):
        from gevent.socket import wait_read, wait_readwrite
        return wait_read, wait_readwrite

    def waiting_for(events):
        def wait(fd):
            poller = select.poll()
            poller.register(fd, events)
            poller.poll()
        return wait
    return waiting_for(select.POLLIN), waiting_for(select.POLLIN | select.POLLOUT)


_wait_readable, _wait_readable_or_writable = _socket_waits()


def _exchange(pgconn):
    """Send what libpq holds and read every result up to the pipeline's sync, waiting on the socket; reads
    while it sends, so a long pipeline cannot deadlock on full buffers."""
    fd = pgconn.socket
    while pgconn.flush():
        _wait_readable_or_writable(fd)
        pgconn.consume_input()
    results = []
    while True:
        while pgconn.is_busy():
            _wait_readable(fd)
            pgconn.consume_input()  # raises OperationalError if the connection is lost
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            if pgconn.status != pq.ConnStatus.OK:
                if results and results[-1].status == pq.ExecStatus.FATAL_ERROR:
                    raise psycopg.errors.error_from_result(results[-1])
                raise psycopg.OperationalError(pgconn.get_error_message() or "the connection was lost")
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            return results
        results.append(result)


def own_prepared_statements(engine):
    """pg_pipeline prepares its statements itself, once per connection. psycopg would drop them behind its back:
    it prepares a query it has run five times, and after rolling back a transaction on such a connection it
    sends DEALLOCATE ALL. So psycopg prepares nothing on this engine's connections (pg_pipeline still recovers
    if its statements vanish: the push that finds one missing is redone the plain way)."""
    if engine.dialect.driver != "psycopg":
        return

    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection, record):
        dbapi_connection.prepare_threshold = None


def ping_when_idle(engine, after_seconds):
    """The pool's liveness check, only for a connection that sat unused for `after_seconds` (or is new):
    a connection handed from request to request within milliseconds is not pinged each time — the ping
    was a round trip on every push. A dead connection found by the ping is replaced before anyone uses it
    (DisconnectionError: the pool takes another); one that dies while busy fails its request once, is
    invalidated (SQLAlchemy for its statements, pg_pipeline for its own) and the caller retries."""
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < after_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any driver error: this connection is not usable
            raise DisconnectionError() from exc


# SQLite's hot path (the direct push): a few statements on the sqlite3 connection itself, without SQLAlchemy's
# per-execute work (its compiled-cache lookup, parameter processing and result set-up were half the CPU of a
# push of one). What SQLAlchemy would do to the values is still done — by the same types' processors, looked up
# once — so what is stored is exactly what the ORM stores and reads back.

class SqliteStatement:
    """A SQLAlchemy statement compiled once for sqlite3 (qmark placeholders), with the bind processors of its
    parameters and the result processors of its typed columns (`.columns(...)` of a text(), an Insert's
    columns: `column_keys`)."""

    def __init__(self, stmt, column_keys=None):
        from sqlalchemy.dialects.sqlite import pysqlite
        dialect = pysqlite.dialect()
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        self._binds = tuple((name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                            for name in compiled.positiontup)
        self._positions = {name: index for index, (name, _) in enumerate(self._binds)}
        self._results = {col.name: col.type.dialect_impl(dialect).result_processor(dialect, None)
                         for col in getattr(stmt, "selected_columns", ())}
        self._by_position = None  # [(index, processor)] of the typed columns, from the first result's description

    def args(self, params):
        """`params` (a dict) as the positional tuple sqlite3 takes, each value converted as SQLAlchemy would."""
        return tuple(params[name] if convert is None else convert(params[name]) for name, convert in self._binds)

    def all(self, conn, params):
        """The statement's rows on the sqlite3 connection of `conn` (a Connection of the engine), typed columns
        converted."""
        cursor = self._run(conn, "execute", self.args(params))
        rows = cursor.fetchall()
        if self._by_position is None:
            self._by_position = [(i, self._results[d[0]]) for i, d in enumerate(cursor.description or ())
                                 if self._results.get(d[0]) is not None]
        if not self._by_position or not rows:
            return rows
        out = []
        for row in rows:
            row = list(row)
            for i, convert in self._by_position:
                row[i] = convert(row[i])
            out.append(tuple(row))
        return out

    def execute(self, conn, params):
        self._run(conn, "execute", self.args(params))

    def executemany(self, conn, rows):
        if rows:
            self.executemany_args(conn, [self.args(row) for row in rows])

    def executemany_args(self, conn, args):
        """executemany of rows converted already (`args` of each)."""
        if args:
            self._run(conn, "executemany", args)

    def with_value(self, args, name, value):
        """A tuple made by `args` with the parameter `name` set to `value`, converted as `args` would."""
        index = self._positions[name]
        convert = self._binds[index][1]
        return (*args[:index], value if convert is None else convert(value), *args[index + 1:])

    def _run(self, conn, method, args):
        # the engine's cursor events still fire, if anyone listens (as for pg_pipeline)
        cursor = conn.connection.driver_connection.cursor()
        before, after = conn.dispatch.before_cursor_execute, conn.dispatch.after_cursor_execute
        many = method == "executemany"
        if before:
            before(conn, cursor, self.sql, args, None, many)
        getattr(cursor, method)(self.sql, args)
        if after:
            after(conn, cursor, self.sql, args, None, many)
        return cursor


_writers = {}  # (process id, database file) → (threading.Lock, the lock file's descriptor)
_writers_lock = threading.Lock()


@contextmanager
def sqlite_write_transaction(conn):
    """A write transaction on the sqlite3 connection of `conn` (a Connection of the engine): yields it, inside
    BEGIN IMMEDIATE, to commit before the block ends; left uncommitted, it is rolled back.

    SQLite has one writer at a time, and one that finds the database locked polls: SQLite's busy handler sleeps
    1, 2, 5, 10 … ms between tries, while a push of one holds the lock for a fraction of a millisecond. So the
    direct push's writers queue here first — threads of a process on a lock, processes on an flock(2) of a file
    beside the database — and each is woken as the one before it finishes (measured: a push of one waited
    5 ms at the median with four clients, most of it asleep in the busy handler). Other writers (the full path,
    administrators) still meet SQLite's lock with busy_timeout as before."""
    raw = conn.connection.driver_connection
    with sqlite_writer(conn.engine.url.database):
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield raw
        finally:
            if raw.in_transaction:
                raw.rollback()


@contextmanager
def sqlite_writer(database):
    """Held by one thread of one process at a time, for `database` (a file; an in-memory one: this process's
    threads only)."""
    key = (os.getpid(), database)  # a lock file opened before a fork would be one lock shared by the children
    entry = _writers.get(key)
    if entry is None:
        with _writers_lock:
            entry = _writers.get(key)
            if entry is None:
                fd = None
                if database and database != ":memory:" and not database.startswith("file::memory:"):
                    fd = os.open(database + "-writer.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                entry = _writers[key] = (threading.Lock(), fd)
    lock, fd = entry
    with lock:
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
