"""The serving tests' setting: the app under gunicorn.conf.py on a database of its own, and a phone that logs in,
fetches its shift and pushes one record."""
import itertools
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

import requests

from .harness import Database, Gunicorn, free_port, make_app, prepare


@contextmanager
def served(tmp_path, workers, pg_url=None):
    """The app under gunicorn.conf.py with `workers` processes, on a PostgreSQL database made for it (dropped
    after) or, without `pg_url`, a SQLite file in `tmp_path`: yields (Database, Gunicorn)."""
    database = Database(pg_url, str(tmp_path))
    database.create()
    instance = str(tmp_path / "instance")
    server = None
    try:
        prepare(make_app(database.url, instance))
        server = Gunicorn(database.url, instance, workers, free_port(), str(tmp_path / "gunicorn.log"))
        server.wait_ready()
        yield database, server
    finally:
        if server:
            server.stop()
        database.drop()


def login(base, username):
    """(token answer, the id of the first visit of the worker's shift)."""
    answer = requests.post(f"{base}/api/auth/token", timeout=10, json={
        "username": username, "password": "demo", "device_id": f"soak-{uuid.uuid4().hex[:12]}"})
    answer.raise_for_status()
    token = answer.json()
    package = requests.get(f"{base}/api/sync/pull", timeout=10, headers={"Authorization": f"Bearer {token['token']}"})
    package.raise_for_status()
    return token, package.json()["visits"][0]["id"]


def push(base, token, visit_id, session=None, records=1):
    """`records` new visit_started records for `visit_id` in one push (on `session`'s keep-alive connection if
    given); the answer."""
    now = datetime.now(timezone.utc).isoformat()
    body = {"protocol": 1, "device_id": token["device_id"],
            "events": [{"id": str(uuid.uuid4()), "type": "visit_started", "occurred_at": now,
                        "device_seq": next(_device_seq), "payload": {"visit_id": visit_id}} for _ in range(records)],
            "status": {"pending": 0, "device_clock": now, "app_version": "test"}}
    return (session or requests).post(f"{base}/api/sync/push", json=body, timeout=60,
                                      headers={"Authorization": f"Bearer {token['token']}"})


_device_seq = itertools.count(1)
