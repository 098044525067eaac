"""Shared fixtures: the app on real SQLite and (when TEST_DATABASE_URL is set) real PostgreSQL.

Every test that uses `app` runs once per engine. The schema is built by the real migrations once per
session; before each test all tables are emptied and the fictitious demo municipality is seeded again.
"""
import os
import re
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

from server import create_app
from server.demo import seed
from server.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")
ENGINES = ["sqlite"] + (["postgresql"] if PG_URL else [])
FAST_HASH = "pbkdf2:sha256:1000"  # the demo password, hashed cheaply: tests are not about hash cost
# For a module whose every test is about PostgreSQL itself (`pytestmark = requires_postgresql`). It never skips
# in CI: pytest_sessionstart refuses a CI run without TEST_DATABASE_URL.
requires_postgresql = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL); CI always sets it")


def pytest_sessionstart(session):
    if os.environ.get("CI") and not PG_URL:
        raise pytest.UsageError("CI must run the database tests on PostgreSQL too: set TEST_DATABASE_URL.")


def _admin_url(url):
    return make_url(url).set(database="postgres")


@pytest.fixture(scope="session", params=ENGINES)
def db_url(request, tmp_path_factory):
    """A freshly migrated database for this test session, dropped at the end."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite'}"
        dropper = None
    else:
        name = f"hv_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(_admin_url(PG_URL), isolation_level="AUTOCOMMIT",
                              pool_pre_ping=True)  # the soak test may restart PostgreSQL meanwhile
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

        def dropper():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    os.environ["HEMVARD_INSTANCE"] = str(tmp_path_factory.mktemp("instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(revision="heads")
        db.engine.dispose()
    yield url
    if dropper:
        dropper()


def empty_all_tables():
    tables = [t for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    db.session.commit()


_snapshots = {}
_dirty = {}  # engine URL → names of tables written since the last restore
_WRITE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+"?(\w+)"?',
                    re.IGNORECASE)


@event.listens_for(Engine, "before_cursor_execute")
def _track_writes(conn, cursor, statement, parameters, context, executemany):
    match = _WRITE.match(statement)
    if match:
        _dirty.setdefault(str(conn.engine.url), set()).add(match.group(1))


def _with_dependents(names):
    """The written tables and every table that references them (their rows go when a parent is emptied)."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    wanted = {n for n in names if n in tables}
    grew = True
    while grew:
        grew = False
        for t in tables.values():
            if t.name not in wanted and any(fk.column.table.name in wanted for fk in t.foreign_keys):
                wanted.add(t.name)
                grew = True
    return [t for t in db.metadata.sorted_tables if t.name in wanted]


def restore_demo(url):
    """Put the demo municipality back as it was: seeded once per session, then only the tables a test
    wrote to (and their dependents) are emptied and refilled from an in-memory snapshot."""
    key = str(db.engine.url)
    if url not in _snapshots:
        empty_all_tables()
        seed(hash_method=FAST_HASH)
        _snapshots[url] = {t.name: [dict(r._mapping) for r in db.session.execute(t.select())]
                           for t in db.metadata.sorted_tables}
        _dirty.pop(key, None)
        return
    tables = _with_dependents(_dirty.pop(key, set()))
    if not tables:
        return
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    for table in tables:
        rows = _snapshots[url][table.name]
        if rows:
            db.session.execute(table.insert(), rows)
        if db.engine.dialect.name == "postgresql":  # move the id sequence past the copied ids
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and pk[0].autoincrement is not False and pk[0].type.python_type is int:
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{pk[0].name}'), "
                    f"COALESCE((SELECT MAX({pk[0].name}) FROM \"{table.name}\"), 0) + 1, false)"))
    db.session.commit()
    _dirty.pop(key, None)


@pytest.fixture
def app(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HEMVARD_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test-secret"})
    with app.app_context():
        restore_demo(db_url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def now_iso():
    return datetime.now(timezone.utc).isoformat()


class AuthActions:
    """Log in as demo users and talk the sync protocol, the way a device does."""

    def __init__(self, client):
        self._client = client

    def login(self, username="worker1", device_id=None, password="demo"):
        device_id = device_id or f"dev-{username}-{uuid.uuid4().hex[:8]}"
        response = self._client.post("/api/auth/token", json={"username": username, "password": password,
                                                               "device_id": device_id})
        assert response.status_code == 200, response.json
        return Session(self._client, response.json)


class Session:
    def __init__(self, client, login):
        self.client, self.login = client, login
        self.device_id = login["device_id"]
        self.headers = {"Authorization": f"Bearer {login['token']}"}
        self.push_headers = {"Authorization": f"Bearer {login['push_token']}"}
        self.user = login["user"]
        self._seq = 0

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, headers=self.headers, **kw)

    def pull(self, cursor=None):
        response = self.get("/api/sync/pull" + (f"?cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.json
        return response.json

    def event(self, type_, payload, occurred_at=None, id_=None):
        self._seq += 1
        return {"id": id_ or str(uuid.uuid4()), "type": type_, "occurred_at": occurred_at or now_iso(),
                "device_seq": self._seq, "payload": payload}

    def push_body(self, events, device_clock=None, pending=None):
        return {"protocol": 1, "device_id": self.device_id, "events": events,
                "status": {"pending": len(events) if pending is None else pending,
                           "device_clock": device_clock or now_iso(), "app_version": "test"}}

    def push(self, events, headers=None, **status):
        return self.client.post("/api/sync/push", json=self.push_body(events, **status),
                                headers=headers or self.headers)


@pytest.fixture
def auth(client):
    return AuthActions(client)


# Logged-in demo users of Hemtjänst Norr (admin2 is Söder's administrator, for cross-unit checks).
@pytest.fixture
def admin(auth):
    return auth.login("admin1")


@pytest.fixture
def admin2(auth):
    return auth.login("admin2")


@pytest.fixture
def manager(auth):
    return auth.login("manager1")


@pytest.fixture
def worker(auth):
    return auth.login("worker1")
