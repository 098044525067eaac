"""A pooled PostgreSQL connection that the server closed meanwhile (a restart, an idle timeout) is replaced
before anyone uses it (SQLAlchemy's pool_pre_ping, on for PostgreSQL): no request fails because of it."""
import time

import psycopg
from sqlalchemy import text

from server import create_app
from server.extensions import db
from tests.conftest import PG_URL, requires_postgresql

pytestmark = requires_postgresql


def _pid():
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    db.session.remove()  # back to the pool
    return pid


def _kill(pid):
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    time.sleep(0.2)


def test_a_connection_that_died_while_pooled_is_replaced_before_use(tmp_path, monkeypatch):
    monkeypatch.setenv("HEMVARD_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": PG_URL, "SECRET_KEY": "test"})
    with app.app_context():
        first = _pid()
        _kill(first)
        second = _pid()  # no error: the ping found it dead and the pool took a new one
        assert second != first
        db.engine.dispose()
