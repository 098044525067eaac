"""What SQLite and PostgreSQL spell differently, in one place: INSERT … ON CONFLICT and the per-worker lock."""
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db

WORKER_LOCK_NAMESPACE = 0x4876  # "Hv": first key of the per-worker advisory lock
_LOCK_WORKER = {"postgresql": text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                # SQLite: the first write takes the database's one write lock (waiting up to busy_timeout) before
                # anything is read, so what follows reads what no other writer can change before the commit
                "sqlite": text("UPDATE users SET active = active WHERE id = :id AND :ns = :ns")}


def insert(table):
    """An INSERT that supports ON CONFLICT on the current engine (both dialects spell it alike)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def lock_worker(user_id):
    """Serialise one worker's writes until the transaction ends. Two phones of one worker, a retry racing its own
    first attempt, or a backfill touch the same record ids and projection rows in any order; without this they
    can deadlock (found by the soak test) or answer as no serial order would. PostgreSQL: an advisory lock
    (re-entrant within a transaction); SQLite: its one writer's lock, for the rest of the transaction."""
    statement = _LOCK_WORKER[db.session.get_bind().dialect.name]
    db.session.execute(statement, {"ns": WORKER_LOCK_NAMESPACE, "id": user_id})
