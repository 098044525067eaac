"""Production serving (gunicorn.conf.py) on PostgreSQL: a gevent worker waits for the database without
stalling its other requests. A push held on its worker's lock inside PostgreSQL must not stop the same
process from answering a health check and another worker's push; then it completes, stored once."""
import os
import socket
import threading
import time

import psycopg
import pytest
import requests

from .phones import login, push, served

PG_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (TEST_DATABASE_URL): gunicorn.conf.py serves "
                                                   "SQLite with sync workers")


def waiting_on_advisory_lock(conn):
    return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]


def test_one_gevent_worker_answers_others_while_a_push_waits_for_its_lock(tmp_path):
    from server.ingest import WORKER_LOCK_NAMESPACE
    with served(tmp_path, 1, PG_URL) as (database, server):  # ONE process
        base = f"http://127.0.0.1:{server.port}"
        held, held_visit = login(base, "worker1")
        other, other_visit = login(base, "worker2")
        with psycopg.connect(database.url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as conn:
            user_id = conn.execute("SELECT id FROM users WHERE username = 'worker1'").fetchone()[0]
            conn.execute("SELECT pg_advisory_lock(%s, %s)", (WORKER_LOCK_NAMESPACE, user_id))
            answers = {}
            blocked = threading.Thread(target=lambda: answers.update(held=push(base, held, held_visit)))
            blocked.start()
            deadline = time.monotonic() + 10
            while not waiting_on_advisory_lock(conn) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert waiting_on_advisory_lock(conn) == 1, "the first push never reached the lock"

            # the process's only OS thread is not stuck in that wait
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
            answer = push(base, other, other_visit)
            assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "applied"
            assert blocked.is_alive() and waiting_on_advisory_lock(conn) == 1

            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (WORKER_LOCK_NAMESPACE, user_id))
            blocked.join(timeout=30)
            assert answers["held"].status_code == 200
            assert answers["held"].json()["results"][0]["status"] == "applied"
            assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2
        log = (tmp_path / "gunicorn.log").read_text()
        assert "Using worker: BalancedGeventWorker" in log, log[-2000:]


def _connections_by_worker(pids, port):
    """{pid: established connections it holds on `port`} (from /proc: its socket inodes, the kernel's table)."""
    established = set()
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
                established.add(fields[9])
    held = {}
    for pid in pids:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        held[pid] = len(inodes & established)
    return held


def test_a_busy_worker_leaves_a_new_connection_to_an_idle_one(tmp_path):
    """Two phones connecting one after the other, each keeping its connection: one per worker process (the
    first to wake used to take both, and one core served them while the other idled)."""
    with served(tmp_path, 2, PG_URL) as (_, server):
        port, pids = server.port, server.worker_pids()
        for _ in range(3):
            time.sleep(0.5)  # the health checks' connections closed, both workers idle
            phones = []
            for _ in range(2):
                phone = socket.create_connection(("127.0.0.1", port), timeout=10)
                phone.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert phone.recv(65536).startswith(b"HTTP/1.1 200")  # answered, and kept open
                phones.append(phone)
                time.sleep(0.1)
            assert sorted(_connections_by_worker(pids, port).values()) == [1, 1]
            for phone in phones:
                phone.close()


def test_phones_pushing_at_once_to_one_process_share_transactions_and_each_is_answered_and_stored_once(tmp_path):
    """Group commit under the real gevent worker: pushes of six workers' phones, each on its own keep-alive
    connection to ONE process, sent as fast as each is answered. Every push is answered applied and every record
    stored once; pushes that met at the process shared a transaction (rows of one PostgreSQL transaction have one
    xmin), and no push was split over two."""
    phones, pushes = 6, 25
    with served(tmp_path, 1, PG_URL) as (database, server):
        base = f"http://127.0.0.1:{server.port}"
        logged_in = [login(base, f"worker{n}") for n in range(1, phones + 1)]
        answers, barrier = [], threading.Barrier(phones)

        def phone(token, visit_id):
            with requests.Session() as session:
                barrier.wait(timeout=30)
                for _ in range(pushes):
                    answers.append(push(base, token, visit_id, session=session, records=2))

        threads = [threading.Thread(target=phone, args=pair) for pair in logged_in]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(answers) == phones * pushes
        assert all(a.status_code == 200 and [r["status"] for r in a.json()["results"]] == ["applied"] * 2
                   for a in answers)
        with psycopg.connect(database.url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            stored = dict(conn.execute("SELECT id, xmin::text FROM events").fetchall())  # id → its transaction
        assert len(stored) == phones * pushes * 2
        per_push = [{stored[r["id"]] for r in a.json()["results"]} for a in answers]
        assert all(len(transactions) == 1 for transactions in per_push)  # no push split over two
        assert len(set(stored.values())) < phones * pushes, "no two pushes shared a transaction"
        assert "pushes failed" not in (tmp_path / "gunicorn.log").read_text()
