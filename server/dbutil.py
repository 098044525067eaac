"""Small helpers for writing SQL that behaves the same on SQLite and PostgreSQL."""
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db


def insert(table):
    """An INSERT that supports ON CONFLICT on the current engine (both dialects spell it alike)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
