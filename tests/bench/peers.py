"""The baselines measured beside our ingest in the same run: pouchdb-server `_bulk_docs` (the CouchDB-style
peer) and a plain multi-row INSERT into the same PostgreSQL (the floor: what the database alone costs)."""
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .harness import REPO, _libpq, cpu_seconds, free_port, wait_http
from .load import LoadResult, Request

NODE_DIR = REPO / "tests" / "bench" / "node"
POUCHDB = NODE_DIR / "node_modules" / ".bin" / "pouchdb-server"


def pouchdb_installed():
    return POUCHDB.exists()


@contextmanager
def pouchdb_server():
    """pouchdb-server on LevelDB in a temporary folder (its log and config go there too)."""
    folder = tempfile.mkdtemp(prefix="hv_pouch_")
    port = free_port()
    proc = subprocess.Popen([str(POUCHDB), "--port", str(port), "--dir", folder, "--no-stdout-logs"], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/", timeout=60, proc=proc)
        urllib.request.urlopen(urllib.request.Request(base + "/bench", method="PUT"), timeout=10).read()
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def pouch_doc(event, phone):
    """The same record as a CouchDB document: the event id is the document id (CouchDB's idempotency)."""
    return {"_id": event["id"], "type": event["type"], "occurred_at": event["occurred_at"],
            "device_seq": event["device_seq"], "payload": event["payload"], "device_id": phone.device_id,
            "user_id": phone.user_id}


def pouch_requests(batches):
    return [Request("/bench/_bulk_docs", json.dumps({"docs": [pouch_doc(e, phone) for e in events]}).encode(), {},
                    len(events)) for phone, events in batches]


FLOOR_COLUMNS = ("id", "type", "source", "device_id", "user_id", "unit_id", "visit_id", "client_id", "device_seq",
                 "occurred_at", "occurred_at_raw", "occurred_at_corrected", "skew_seconds", "skew_flagged",
                 "payload", "fingerprint", "received_at")


def create_floor_table(url):
    """A twin of the event log with the same columns and indexes (no foreign keys, no projection)."""
    import psycopg
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE floor_events (LIKE events INCLUDING DEFAULTS INCLUDING INDEXES)")


def floor_rows(batches, unit_of):
    from psycopg.types.json import Jsonb
    out = []
    for phone, events in batches:
        rows = []
        for e in events:
            at = datetime.fromisoformat(e["occurred_at"])
            rows.append((e["id"], e["type"], "device", phone.device_id, phone.user_id, unit_of(phone),
                         e["payload"].get("visit_id"), e["payload"].get("client_id"), e["device_seq"], at,
                         e["occurred_at"], at, 0.0, False, Jsonb(e["payload"]), "0" * 64))
        out.append(rows)
    return out


def run_floor(url, batches_rows, threads=4):
    """One multi-row INSERT and one COMMIT per batch, from `threads` connections, like the HTTP clients."""
    import psycopg
    lanes = [batches_rows[i::threads] for i in range(threads)]
    result = LoadResult(0.0, 0, 0)
    lock = threading.Lock()
    gate = threading.Barrier(len([lane for lane in lanes if lane]) + 1)
    statements = {}

    def statement(n):
        if n not in statements:
            one = "(" + ", ".join(["%s"] * len(FLOOR_COLUMNS)) + ")"
            statements[n] = (f"INSERT INTO floor_events ({', '.join(FLOOR_COLUMNS)}) VALUES "
                             + ", ".join([one] * n))
        return statements[n]

    def lane(items):
        try:
            conn = psycopg.connect(_libpq(url))
        finally:
            gate.wait(timeout=600)  # reached even when the connection fails, so no lane waits forever
        latencies, rows_done = [], 0
        started_cpu = cpu_seconds([conn.info.backend_pid])  # not the backend's start-up: only the inserts
        for rows in items:
            now = datetime.now(timezone.utc)
            t0 = time.perf_counter()
            params = [v for row in rows for v in (*row, now)]  # received_at: now, as the server sets it
            conn.execute(statement(len(rows)), params)
            conn.commit()
            latencies.append(time.perf_counter() - t0)
            rows_done += len(rows)
        backend_cpu = cpu_seconds([conn.info.backend_pid]) - started_cpu
        conn.close()
        with lock:
            result.cpu_seconds = getattr(result, "cpu_seconds", 0.0) + backend_cpu
            result.latencies.extend(latencies)
            result.events += rows_done
            result.requests += len(items)

    workers = [threading.Thread(target=lane, args=(items,)) for items in lanes if items]
    for w in workers:
        w.start()
    gate.wait(timeout=600)
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    result.seconds = time.perf_counter() - t0
    return result


def node_dir_exists():
    return Path(NODE_DIR).exists()
