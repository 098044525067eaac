"""Production serving (gunicorn.conf.py) on SQLite: each process serves one request at a time and takes a new
connection only when it is free, so a push waiting for SQLite's one writer never holds up a phone that another
process could serve (gthread workers with one thread accepted connections while their thread was busy: three
phones of four could queue on one process while the other idled)."""
import socket
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

import requests

from .harness import Database, Gunicorn, free_port, make_app, prepare


@contextmanager
def served(tmp_path, workers):
    """The app under gunicorn.conf.py with `workers` processes on a SQLite database of its own: (path, server)."""
    database = Database(None, str(tmp_path))
    instance = str(tmp_path / "instance")
    server = None
    try:
        prepare(make_app(database.url, instance))
        server = Gunicorn(database.url, instance, workers, free_port(), str(tmp_path / "gunicorn.log"))
        server.wait_ready()
        yield database.url.removeprefix("sqlite:///"), server
    finally:
        if server:
            server.stop()


def login(base, username):
    answer = requests.post(f"{base}/api/auth/token", timeout=10, json={
        "username": username, "password": "demo", "device_id": f"sync-{uuid.uuid4().hex[:12]}"})
    answer.raise_for_status()
    token = answer.json()
    package = requests.get(f"{base}/api/sync/pull", timeout=10, headers={"Authorization": f"Bearer {token['token']}"})
    package.raise_for_status()
    return token, package.json()["visits"][0]["id"]


def push(base, token, visit_id):
    now = datetime.now(timezone.utc).isoformat()
    body = {"protocol": 1, "device_id": token["device_id"],
            "events": [{"id": str(uuid.uuid4()), "type": "visit_started", "occurred_at": now, "device_seq": 1,
                        "payload": {"visit_id": visit_id}}],
            "status": {"pending": 0, "device_clock": now, "app_version": "test"}}
    return requests.post(f"{base}/api/sync/push", json=body, timeout=60,
                         headers={"Authorization": f"Bearer {token['token']}"})


@contextmanager
def writer_lock_held(path):
    """SQLite's write lock, held by another writer (an administrator's transaction, say): a push waits for it
    (up to busy_timeout), whichever path takes it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def health_check(port):
    """A phone that connects and asks: the status line of the answer, within 5 s (None if none came)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as phone:
        phone.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            return phone.recv(65536).split(b"\r\n", 1)[0]
        except socket.timeout:
            return None


def test_a_push_waiting_for_the_writer_leaves_new_phones_to_the_other_process(tmp_path):
    with served(tmp_path, 2) as (path, server):
        base = f"http://127.0.0.1:{server.port}"
        token, visit_id = login(base, "worker1")
        for _ in range(3):
            answers = {}
            with writer_lock_held(path):
                waiting = threading.Thread(target=lambda: answers.update(held=push(base, token, visit_id)))
                waiting.start()
                time.sleep(0.5)  # the push reached the writer's lock and waits there, its process with it
                assert waiting.is_alive(), "the push did not wait for the writer"
                # phones connecting one after the other, each answered at once: none waits on the busy process
                assert [health_check(server.port) for _ in range(4)] == [b"HTTP/1.1 200 OK"] * 4
            waiting.join(timeout=30)
            assert answers["held"].status_code == 200
            assert answers["held"].json()["results"][0]["status"] == "applied"
        log = (tmp_path / "gunicorn.log").read_text()
        assert "Using worker: sync" in log, log[-2000:]
