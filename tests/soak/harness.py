"""Soak: many simulated devices push through faults to gunicorn; then nothing may be lost or doubled.

Run the long version with `make soak` (200 devices × 50 events, all three faults, PostgreSQL);
`tests/soak/test_soak.py` runs a small one inside `make test`. The simulated device behaves like
the PWA's outbox: it deletes an event only when the server acknowledged it (applied or duplicate),
keeps a rejected one with its reason, retries with backoff and jitter, resends acknowledged batches
at random and sends its events in shuffled order.

Faults: the proxy drops answers after the server committed; a gunicorn worker is killed with
SIGKILL; PostgreSQL is restarted (`restart_pg`). Afterwards the database is checked: every event
exactly once, side effects (offline access-log rows) exactly once, quarantine == what devices hold
as rejected, and the projection tables equal a replay of the log.
"""
import argparse
import gzip
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests

from .proxy import FaultProxy

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAST_HASH = "pbkdf2:sha256:1000"
SECRET = "soak-secret-not-used-anywhere-else"
WORKERS = [f"worker{i}" for i in range(1, 13)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_utc():
    return datetime.now(timezone.utc)


# -- the database --------------------------------------------------------------------------------

class Database:
    """A dedicated database for one soak run: a fresh PostgreSQL database (dropped after) or SQLite file."""

    def __init__(self, pg_url=None, workdir=None):
        from sqlalchemy.engine import make_url
        self.pg_url = pg_url
        if pg_url:
            self.name = f"hv_soak_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self._admin = make_url(pg_url).set(database="postgres")
            self.url = make_url(pg_url).set(database=self.name).render_as_string(hide_password=False)
        else:
            self.name = None
            self.url = f"sqlite:///{os.path.join(workdir, 'soak.sqlite')}"

    @property
    def is_pg(self):
        return self.pg_url is not None

    def _admin_exec(self, sql):
        from sqlalchemy import create_engine, text
        engine = create_engine(self._admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def create(self):
        if self.is_pg:
            self._admin_exec(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        if self.is_pg:
            for _ in range(30):  # right after a PostgreSQL restart the server may still be starting
                try:
                    self._admin_exec(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                    return
                except Exception:  # the server is not up yet: wait and try again
                    time.sleep(1)


def restart_postgresql():
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def make_app(db_url, instance):
    """The app in this process, for migrating, seeding and checking (gunicorn serves its own)."""
    old = os.environ.get("HEMVARD_INSTANCE")
    os.environ["HEMVARD_INSTANCE"] = instance
    try:
        from server import create_app
        return create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": SECRET})
    finally:
        if old is None:
            os.environ.pop("HEMVARD_INSTANCE", None)
        else:
            os.environ["HEMVARD_INSTANCE"] = old


def prepare(app):
    from flask_migrate import upgrade

    from server.demo import seed
    from server.extensions import db
    with app.app_context():
        upgrade(revision="heads")
        seed(hash_method=FAST_HASH)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


# -- gunicorn --------------------------------------------------------------------------------------

class Gunicorn:
    def __init__(self, db_url, instance, workers, port, logfile):
        self.port = port
        env = dict(os.environ, DATABASE_URL=db_url, HEMVARD_INSTANCE=instance, SECRET_KEY=SECRET,
                   PYTHONPATH=REPO)
        self._log = open(logfile, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", os.path.join(REPO, "gunicorn.conf.py"),
             "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "60",
             "--graceful-timeout", "5", "server:create_app()"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited at start; see its log")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def worker_pids(self):
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == self.proc.pid:
                    pids.append(int(entry))
        return sorted(pids)

    def kill_a_worker(self, rng):
        pids = self.worker_pids()
        if not pids:
            return None
        victim = rng.choice(pids)
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# -- simulated devices -----------------------------------------------------------------------------

@dataclass
class Figures:
    devices: int = 0
    events_generated: int = 0
    events_sent: int = 0  # every event in every request, resends included
    requests: int = 0
    applied: int = 0
    duplicates_absorbed: int = 0
    rejected_answers: int = 0
    errors: Counter = field(default_factory=Counter)
    unexpected: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    stored: int = 0
    quarantined: int = 0
    dropped_after_commit: int = 0
    acknowledged_batches_resent: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts):
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def error(self, kind):
        with self.lock:
            self.errors[kind] += 1

    def report(self):
        recovered = sum(self.errors.values()) if not self.unexpected else "no"
        lines = [
            f"devices                 {self.devices}",
            f"events generated        {self.events_generated}",
            f"events sent (w/ resends){self.events_sent:>7}   in {self.requests} requests",
            f"events stored           {self.stored}",
            f"applied answers         {self.applied}",
            f"duplicates absorbed     {self.duplicates_absorbed}   "
            f"({self.acknowledged_batches_resent} acknowledged batches resent verbatim)",
            f"rejected (quarantined)  {self.quarantined}   ({self.rejected_answers} rejected answers)",
            f"errors seen             {dict(self.errors) or 0}",
            f"errors recovered        {recovered}",
            f"faults injected         {', '.join(self.faults) or 'none'}",
            f"unexpected answers      {len(self.unexpected)}",
            f"wall time               {self.seconds:.1f} s",
        ]
        return "\n".join(lines)


class SimulatedDevice:
    """One phone: an outbox that forgets an event only once the server acknowledged it."""

    def __init__(self, index, username, login, package, rng, sealed, bad_rate):
        """`sealed`: 0 plain events with the full token; 1 sealed v1 (app ≤ 1.1, one key per event);
        2 sealed v2 in a gzipped body, as app 1.2 sends them (a new session key every few batches, as
        when the phone locks)."""
        self.index, self.username, self.rng, self.sealed = index, username, rng, sealed
        self._sealers, self._batches = [], 0
        self.device_id = login["device_id"]
        self.token = login["push_token"] if sealed else login["token"]
        self.public_key = _public_key(login["outbox_key"]["jwk"]) if sealed else None
        self.skew = timedelta(seconds=rng.choice([0, 0, 0, rng.uniform(-400, 400)]))
        self.outbox = {}  # id -> event, in recording order
        self.acknowledged = {}  # id -> event
        self.rejected = {}  # id -> (code, message)
        self.last_acknowledged_batch = None  # resent verbatim now and then: must be all duplicates
        self.resent_acknowledged = False
        self._package, self._seq, self._bad_rate = package, 0, bad_rate

    def record(self, count):
        visits = self._package["visits"]
        client_ids = [c["id"] for c in self._package["clients"]]
        base = now_utc() - timedelta(hours=6)
        while len(self.outbox) < count:
            visit = self.rng.choice(visits)
            when = base + timedelta(seconds=self.rng.uniform(0, 6 * 3600))
            roll = self.rng.random()
            if roll < self._bad_rate:
                self._add("visit_started", {"visit_id": 2_000_000_000}, when)  # no such visit: rejected
            elif roll < 0.3:
                self._add("visit_started", {"visit_id": visit["id"]}, when)
            elif roll < 0.5:
                self._add("visit_ended", {"visit_id": visit["id"]}, when)
            elif roll < 0.55:
                self._add("visit_started", {"visit_id": visit["id"], "at": visit["planned_start"],
                                            "adjust_reason": "Glömde trycka vid ankomst"}, when)
            elif roll < 0.75 and visit["interventions"]:
                iv = self.rng.choice(visit["interventions"])
                done = self.rng.random() < 0.8
                payload = {"visit_id": visit["id"], "intervention_id": iv["id"],
                           "status": "done" if done else "not_done"}
                if not done:
                    payload["reason"] = self.rng.choice(["declined", "client_absent", "other"])
                    payload["comment"] = "Ville inte i dag."
                self._add("intervention_recorded", payload, when)
            elif roll < 0.85:
                self._add("note_added", {"client_id": visit["client_id"], "visit_id": visit["id"],
                                         "text": f"Anteckning {self._seq} – allt lugnt, åt frukost."}, when)
            elif roll < 0.95:
                self._add("client_record_opened", {"client_id": self.rng.choice(client_ids or [visit["client_id"]]),
                                                   "view": self.rng.choice(["overview", "care_plan",
                                                                            "medication_list"])}, when)
            else:
                self._add("deviation_reported", {"category": "outage", "description": "Ingen täckning i hissen.",
                                                 "client_id": visit["client_id"]}, when)

    def _add(self, type_, payload, when):
        self._seq += 1
        event = {"id": str(uuid.uuid4()), "type": type_, "occurred_at": (when - self.skew).isoformat(),
                 "device_seq": self._seq, "payload": payload}
        self.outbox[event["id"]] = event

    def pending(self):
        return [e for eid, e in self.outbox.items() if eid not in self.rejected]

    def next_batch(self):
        pending = self.pending()
        size = min(len(pending), self.rng.randint(1, 30))
        batch = self.rng.sample(pending, size)  # out of order on purpose
        if self.acknowledged and self.rng.random() < 0.3:  # a resend of something already acknowledged
            batch += self.rng.sample(list(self.acknowledged.values()), min(5, len(self.acknowledged)))
        if self.rejected and self.rng.random() < 0.2:  # the app may send a rejected event again
            batch.append(self.outbox[self.rng.choice(list(self.rejected))])
        self.rng.shuffle(batch)
        return batch

    def body(self, batch):
        events, extra = batch, {}
        if self.sealed == 1:
            from server.sealing import seal
            events = [{"id": e["id"], "sealed": seal(self.public_key, e)} for e in batch]
        elif self.sealed == 2:
            from server.sealing import SessionSealer
            if not self._sealers or self._batches % 4 == 0:
                self._sealers.append(SessionSealer(self.public_key))
            self._batches += 1
            ref = str(len(self._sealers) - 1)
            events = [{"id": e["id"], "k": ref, "sealed": self._sealers[-1].seal(e)} for e in batch]
            extra = {"keys": {ref: self._sealers[-1].epk}}
        return {"protocol": 1, "device_id": self.device_id, "events": events, **extra,
                "status": {"pending": len(self.pending()), "device_clock": (now_utc() - self.skew).isoformat(),
                           "app_version": "soak"}}

    def take(self, results):
        applied = duplicates = rejected = newly_acknowledged = 0
        for r in results:
            if r["status"] in ("applied", "duplicate"):
                if r["id"] in self.outbox:
                    self.acknowledged[r["id"]] = self.outbox.pop(r["id"])
                    newly_acknowledged += 1
                applied += r["status"] == "applied"
                duplicates += r["status"] == "duplicate"
            else:
                assert r["code"] and r["message"], r
                self.rejected[r["id"]] = (r["code"], r["message"])
                rejected += 1
        return applied, duplicates, rejected, newly_acknowledged


def _public_key(jwk):
    from cryptography.hazmat.primitives.asymmetric import ec

    from server.sealing import b64url_decode
    numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_decode(jwk["x"]), "big"),
                                            int.from_bytes(b64url_decode(jwk["y"]), "big"), ec.SECP256R1())
    return numbers.public_key()


class FaultPlan:
    """Faults fired once each when the share of acknowledged events passes their mark."""

    def __init__(self, marks):
        self._marks = sorted(marks, key=lambda m: m[0])
        self._lock = threading.Lock()

    def due(self, progress):
        with self._lock:
            if self._marks and progress >= self._marks[0][0]:
                return self._marks.pop(0)
        return None

    def remaining(self):
        with self._lock:
            return [name for _, name, _ in self._marks]


def _post(url, token, body):
    data, headers = json.dumps(body).encode(), {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                                "Connection": "close"}
    if "keys" in body:  # app 1.2 gzips its pushes
        data, headers["Content-Encoding"] = gzip.compress(data), "gzip"
    return requests.post(url, data=data, timeout=30, headers=headers)


def resend_acknowledged(device, url, figures):
    """Send a whole batch the server already acknowledged, verbatim: every answer must be `duplicate`."""
    batch = device.last_acknowledged_batch
    figures.add(requests=1, events_sent=len(batch))
    try:
        response = _post(url, device.token, device.body(batch))
    except requests.RequestException:
        figures.error("connection")
        return
    if response.status_code >= 500:
        figures.error(f"http_{response.status_code}")
        return
    statuses = [r["status"] for r in response.json().get("results", [])] if response.status_code == 200 else []
    if statuses != ["duplicate"] * len(batch):
        with figures.lock:
            figures.unexpected.append((device.device_id, response.status_code, f"resend answered {statuses}"))
        return
    figures.add(duplicates_absorbed=len(batch), acknowledged_batches_resent=1)


def drive(device, url, figures, plan, total, acked_counter, max_rounds=2000):
    """Push until the outbox holds only rejected events, retrying every transient failure."""
    backoff = 0.05
    for _ in range(max_rounds):
        if not device.pending():
            return
        # An acknowledged batch comes back verbatim: once for sure on every phone (a small run must see it
        # too, not just by chance), then now and then.
        if device.last_acknowledged_batch and (not device.resent_acknowledged or device.rng.random() < 0.1):
            device.resent_acknowledged = True
            resend_acknowledged(device, url, figures)
        batch = device.next_batch()
        body = device.body(batch)
        if device.rng.random() < 0.05:  # a client that retries although it got nothing wrong
            try:
                _post(url, device.token, body)
                figures.add(requests=1, events_sent=len(batch))
            except requests.RequestException:
                figures.error("connection")
        figures.add(requests=1, events_sent=len(batch))
        try:
            response = _post(url, device.token, body)
        except requests.RequestException as exc:
            figures.error("timeout" if isinstance(exc, requests.Timeout) else "connection")
            time.sleep(backoff * (1 + device.rng.random()))
            backoff = min(backoff * 2, 2.0)
            continue
        if response.status_code >= 500:
            figures.error(f"http_{response.status_code}")
            time.sleep(backoff * (1 + device.rng.random()))
            backoff = min(backoff * 2, 2.0)
            continue
        if response.status_code != 200:
            with figures.lock:
                figures.unexpected.append((device.device_id, response.status_code, response.text[:300]))
            return
        backoff = 0.05
        results = response.json()["results"]
        if all(r["status"] != "rejected" for r in results):
            device.last_acknowledged_batch = batch
        applied, duplicates, rejected, newly_acknowledged = device.take(results)
        figures.add(applied=applied, duplicates_absorbed=duplicates, rejected_answers=rejected)
        with acked_counter["lock"]:
            acked_counter["n"] += newly_acknowledged
            progress = acked_counter["n"] / total
        fault = plan.due(progress)
        if fault:
            _, name, action = fault
            detail = action()
            with figures.lock:
                figures.faults.append(f"{name}{f' ({detail})' if detail else ''} at {progress:.0%}")


# -- checks ----------------------------------------------------------------------------------------

def verify(app, devices, figures):
    """Everything the promises say, checked against the database; returns a list of problems."""
    from sqlalchemy import func, select

    from server.extensions import db
    from server.models import AccessLog, Event, InterventionRecord, QuarantinedEvent, Registration
    from server.projection_store import compute
    from sync.projection import InterventionOutcome
    from sync.projection import Registration as Reg

    problems = []
    generated = {}
    rejected = {}
    for d in devices:
        generated.update(d.outbox)
        generated.update(d.acknowledged)
        rejected.update(d.rejected)
        leftover = [eid for eid in d.outbox if eid not in d.rejected]
        if leftover:
            problems.append(f"device {d.device_id} still holds {len(leftover)} unacknowledged events")
        for eid, (code, message) in d.rejected.items():
            if not code or not message:
                problems.append(f"rejected event {eid} has no reason")
    with app.app_context():
        rows = db.session.execute(select(Event.id, func.count()).group_by(Event.id)).all()
        stored = {eid: n for eid, n in rows}
        figures.stored = len(stored)
        doubled = [eid for eid, n in stored.items() if n != 1]
        if doubled:
            problems.append(f"{len(doubled)} events stored more than once")
        expected = set(generated) - set(rejected)
        lost = expected - set(stored)
        if lost:
            problems.append(f"{len(lost)} acknowledged events are missing from the log")
        foreign = set(stored) - expected
        if foreign:
            problems.append(f"{len(foreign)} events in the log that no device sent or that were rejected")
        quarantine = dict(db.session.execute(select(QuarantinedEvent.id, QuarantinedEvent.code)).all())
        figures.quarantined = len(quarantine)
        if set(quarantine) != set(rejected):
            problems.append(f"quarantine holds {len(quarantine)} events, devices hold {len(rejected)} rejected")
        for eid, code in quarantine.items():
            if eid in rejected and rejected[eid][0] != code:
                problems.append(f"event {eid}: device was told {rejected[eid][0]}, quarantine says {code}")
        opened = {eid for eid, e in generated.items() if e["type"] == "client_record_opened" and eid in expected}
        logged = Counter(eid for (eid,) in db.session.execute(select(AccessLog.event_id)
                                                               .where(AccessLog.event_id.is_not(None))))
        if set(logged) != opened or any(n != 1 for n in logged.values()):
            problems.append(f"offline record openings: {len(opened)} applied, access log has "
                            f"{sum(logged.values())} rows for {len(logged)} events")
        regs, outcomes = compute()
        table_regs = {(r.visit_id, r.worker_id): Reg(r.visit_id, r.worker_id, r.started_at, r.started_key,
                                                     r.started_source, r.ended_at, r.ended_key, r.ended_source)
                      for r in db.session.query(Registration)}
        table_outcomes = {(o.visit_id, o.worker_id, o.intervention_id): InterventionOutcome(
            o.visit_id, o.worker_id, o.intervention_id, o.status, o.reason, o.comment, o.key, o.source)
            for o in db.session.query(InterventionRecord)}
        if table_regs != regs:
            problems.append(f"registrations differ from a replay of the log "
                            f"({len(table_regs)} rows vs {len(regs)} replayed)")
        if table_outcomes != outcomes:
            problems.append(f"intervention records differ from a replay of the log "
                            f"({len(table_outcomes)} rows vs {len(outcomes)} replayed)")
        db.session.remove()
        db.engine.dispose()
    if figures.unexpected:
        problems.append(f"{len(figures.unexpected)} unexpected answers, first: {figures.unexpected[0]}")
    return problems


# -- the run ---------------------------------------------------------------------------------------

def run(devices=200, events_per_device=50, gunicorn_workers=2, drop_rate=0.05, kill_worker=True,
        restart_pg=False, pg_url=None, threads=16, seed=1802, bad_rate=0.02, log=print):
    """One soak run; returns (figures, problems). Needs PostgreSQL for `restart_pg`."""
    if restart_pg and not pg_url:
        raise ValueError("restarting PostgreSQL needs a PostgreSQL URL")
    rng = random.Random(seed)
    figures = Figures(devices=devices)
    workdir = tempfile.mkdtemp(prefix="hv-soak-")
    instance = os.path.join(workdir, "instance")
    database = Database(pg_url, workdir)
    database.create()
    server = proxy = None
    try:
        app = make_app(database.url, instance)
        prepare(app)
        port = free_port()
        server = Gunicorn(database.url, instance, gunicorn_workers, port, os.path.join(workdir, "gunicorn.log"))
        server.wait_ready()
        direct = f"http://127.0.0.1:{port}"
        proxy = FaultProxy(port, drop_rate=drop_rate, seed=seed).start()
        push_url = f"http://127.0.0.1:{proxy.port}/api/sync/push"

        def enrol(i):
            username = WORKERS[i % len(WORKERS)]
            device_rng = random.Random(seed * 1000 + i)
            login = requests.post(f"{direct}/api/auth/token", timeout=30, json={
                "username": username, "password": "demo", "device_id": f"soak-{i:04d}-{uuid.uuid4().hex[:8]}"})
            login.raise_for_status()
            login = login.json()
            package = requests.get(f"{direct}/api/sync/pull", timeout=30,
                                   headers={"Authorization": f"Bearer {login['token']}"})
            package.raise_for_status()
            # a third sealed: half as app 1.2 sends them (v2, gzipped), half as older apps did (v1)
            device = SimulatedDevice(i, username, login, package.json(), device_rng,
                                     sealed=(0, 0, 2, 0, 0, 1)[i % 6], bad_rate=bad_rate)
            device.record(events_per_device)
            return device

        with ThreadPoolExecutor(max_workers=threads) as pool:
            sims = list(pool.map(enrol, range(devices)))
        figures.events_generated = sum(len(d.outbox) for d in sims)

        # Early enough that plenty of load follows each fault (a slow restart must not outlast the run).
        marks = []
        if kill_worker:
            marks.append((0.15, "kill -9 gunicorn worker", lambda: f"pid {server.kill_a_worker(rng)}"))
        if restart_pg:
            marks.append((0.3, "PostgreSQL restart", lambda: restart_postgresql() or None))
        if kill_worker:
            marks.append((0.5, "kill -9 gunicorn worker", lambda: f"pid {server.kill_a_worker(rng)}"))
        plan = FaultPlan(marks)
        acked = {"n": 0, "lock": threading.Lock()}
        expected_total = max(1, int(figures.events_generated * (1 - bad_rate)))  # progress: share acknowledged
        log(f"soak: {devices} devices × {events_per_device} events, {gunicorn_workers} gunicorn workers, "
            f"{'PostgreSQL' if database.is_pg else 'SQLite'}, drop rate {drop_rate:.0%}")
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(drive, d, push_url, figures, plan, expected_total, acked) for d in sims]:
                future.result()
        figures.seconds = time.monotonic() - started
        figures.dropped_after_commit = proxy.dropped
        if proxy.dropped:
            figures.faults.append(f"{proxy.dropped} answers dropped after commit")
        missed = plan.remaining()
        if missed:
            figures.unexpected.append(("faults not injected", 0, ", ".join(missed)))
        problems = verify(app, sims, figures)
        return figures, problems
    finally:
        if proxy:
            proxy.stop()
        if server:
            server.stop()
        database.drop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--drop-rate", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--no-pg-restart", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("SOAK_DATABASE_URL")
                        or os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL whose server may be used (a dedicated database is created); "
                             "'sqlite' for SQLite")
    args = parser.parse_args(argv)
    pg = None if args.database_url == "sqlite" else args.database_url
    figures, problems = run(devices=args.devices, events_per_device=args.events, gunicorn_workers=args.workers,
                            drop_rate=args.drop_rate, threads=args.threads, pg_url=pg,
                            restart_pg=bool(pg) and not args.no_pg_restart)
    print(figures.report())
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\nOK: every event exactly once, outboxes empty or holding only rejected events with a reason, "
          "projection == replay of the log.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
