"""Small helpers for writing SQL that behaves the same on SQLite and PostgreSQL."""
import time

import psycopg
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError

from .extensions import db


def insert(table):
    """An INSERT that supports ON CONFLICT on the current engine (both dialects spell it alike)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# PostgreSQL's hot path (the push): a few statements sent in one round trip with psycopg's pipeline mode, on
# the session's own connection and transaction. Each statement still runs on its own, in order, with its own
# snapshot (so a read after an advisory lock sees what the lock's holder committed).

def pg_sql(stmt):
    """The SQL text psycopg runs for a SQLAlchemy statement (compiled once, at import)."""
    from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
    return str(stmt.compile(dialect=psycopg_dialect.dialect()))


_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK


def pg_pipeline(statements):
    """Run [(sql, params), ...] in one round trip; params is a dict, or a list of dicts for an executemany
    (an empty list skips the statement). Returns each statement's rows, None where it returns none."""
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    cursors = []
    try:
        _send(conn, raw, statements, cursors)
    except psycopg.OperationalError:
        if raw.broken or raw.closed:  # as SQLAlchemy does for its own statements: never reuse a dead connection
            conn.invalidate()
        raise
    out = []
    for (sql, params), cursor in zip(statements, cursors):
        # (the result's status, not `description`, which builds a column object per column)
        rows = cursor is not None and cursor.pgresult is not None and cursor.pgresult.status == _TUPLES_OK
        out.append(cursor.fetchall() if rows else None)
        if cursor is not None:
            conn.dispatch.after_cursor_execute(conn, cursor, sql, params, None, isinstance(params, list))
    return out


def _send(conn, raw, statements, cursors):
    with raw.pipeline():
        for sql, params in statements:
            if isinstance(params, list) and not params:
                cursors.append(None)
                continue
            cursor = raw.cursor()
            many = isinstance(params, list)
            # the engine's cursor events still fire (tracing, statement counters, the tests' write tracker)
            conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, many)
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            cursors.append(cursor)


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
