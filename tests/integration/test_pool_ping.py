"""PostgreSQL connections are pinged only after sitting idle (dbutil.ping_when_idle), not on every checkout:
a dead idle connection is still replaced before anyone uses it, and one that dies while in use fails that
one request and is never handed out again — for SQLAlchemy's statements and for the push's pipelines."""
import time

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from server import create_app
from server.dbutil import pg_pipeline
from server.extensions import db
from tests.conftest import PG_URL, requires_postgresql

pytestmark = requires_postgresql


def _app(tmp_path, monkeypatch, idle_seconds):
    monkeypatch.setenv("HEMVARD_INSTANCE", str(tmp_path / "instance"))
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": PG_URL, "SECRET_KEY": "test",
                       "DB_PING_AFTER_IDLE_SECONDS": idle_seconds})


def _pid():
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    db.session.remove()  # back to the pool
    return pid


def _kill(pid):
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    time.sleep(0.2)


def _pings(monkeypatch):
    count = []
    real = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda conn: count.append(1) or real(conn))
    return count


def test_a_connection_reused_at_once_is_not_pinged_one_left_idle_is(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, 0.3)
    with app.app_context():
        pings = _pings(monkeypatch)
        first = _pid()
        assert len(pings) == 1  # a new connection is checked once
        assert [_pid() for _ in range(5)] == [first] * 5 and len(pings) == 1
        time.sleep(0.4)
        assert _pid() == first and len(pings) == 2
        db.engine.dispose()


def test_a_connection_that_died_while_idle_is_replaced_before_use(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, 0.0)
    with app.app_context():
        first = _pid()
        _kill(first)
        second = _pid()  # no error: the ping found it dead and the pool took a new one
        assert second != first
        db.engine.dispose()


def test_a_dead_connection_fails_one_use_and_is_never_handed_out_again(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, 3600)
    with app.app_context():
        _kill(_pid())
        with pytest.raises(OperationalError):
            db.session.execute(text("SELECT 1"))
        db.session.remove()
        assert _pid()
        db.engine.dispose()


def test_the_same_holds_for_the_push_pipelines(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, 3600)
    with app.app_context():
        _kill(_pid())
        with pytest.raises(psycopg.OperationalError):
            pg_pipeline([("SELECT 1", None)])
        db.session.remove()
        assert pg_pipeline([("SELECT 2", None)]) == [[(2,)]]
        db.session.remove()
        db.engine.dispose()
