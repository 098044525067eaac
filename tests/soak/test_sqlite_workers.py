"""Production serving (gunicorn.conf.py) on SQLite: each process serves one request at a time and takes a new
connection only when it is free, so a push waiting for SQLite's one writer never holds up a phone that another
process could serve (gthread workers with one thread accepted connections while their thread was busy: three
phones of four could queue on one process while the other idled)."""
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager

from .phones import login, push, served


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
    with served(tmp_path, 2) as (database, server):
        path = database.url.removeprefix("sqlite:///")
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
