"""Two app servers and two `flask worker` processes on one PostgreSQL database, as separate processes (issue 32).

Phones talk to both servers; an outage crosses its threshold and a deadline passes by the clock alone; one
worker is killed -9 in the middle of a job. Every heartbeat, escalation, "threshold crossed" notification and
push delivery happens exactly once — counted in the database and at the (local) push service.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from conftest import PG_URL, requires_postgresql
from support.push_service import PushService

pytestmark = requires_postgresql
ROOT = Path(__file__).resolve().parents[2]
PULSE_SECONDS = 1
STARTED = re.compile(r"worker (\S+): outage_pulse started \(due (\S+)\)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, what, timeout=90):
    """Poll until `condition()` is true (bounded: a stuck cluster fails the test, it does not hang it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Cluster:
    """One database, its processes, and a view of it from the test (plain SQL on a connection of its own)."""

    def __init__(self, url, env, tmp_path):
        self.url, self.env, self.tmp_path = url, env, tmp_path
        self.processes, self.engine = {}, create_engine(url)
        self.http = requests.Session()
        self.http.trust_env = False  # traffic goes to 127.0.0.1 only, never through a proxy

    def _start(self, name, argv):
        log = open(self.tmp_path / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        log.close()

    def server(self, name):
        port = free_port()
        self._start(name, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "2",
                           "-b", f"127.0.0.1:{port}", "server:create_app()"])
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: self._answers(base), f"{name} to serve")
        return base

    def _answers(self, base):
        try:
            return self.http.get(base + "/api/push/public-key", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still starting its workers
            return False

    def worker(self, name):
        self._start(name, [sys.executable, "-m", "flask", "--app", "server", "worker"])

    def log(self, name):
        return (self.tmp_path / f"{name}.log").read_text()

    def stop(self, name, sig=signal.SIGTERM):
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        return process.wait(timeout=30)

    def rows(self, sql, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def login(self, server, username):
        answer = self.http.post(server + "/api/auth/token", timeout=30, json={
            "username": username, "password": "demo", "device_id": f"dev-{username}-{uuid.uuid4().hex[:6]}"})
        assert answer.status_code == 200, answer.text
        login = answer.json()
        login["headers"] = {"Authorization": f"Bearer {login['token']}"}
        return login

    def call(self, server, method, path, login, **kw):
        answer = self.http.request(method, server + path, headers=login["headers"], timeout=30, **kw)
        assert answer.status_code < 300, answer.text
        return answer.json()


@pytest.fixture
def cluster(tmp_path):
    name = f"hv_nodes_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "HEMVARD_INSTANCE": str(tmp_path / "instance"),
           "SECRET_KEY": "many-nodes", "PYTHONUNBUFFERED": "1", "PUSH_ALLOW_HTTP": "1",
           "PUSH_ENDPOINT_HOSTS": "127.0.0.1", "PUSH_POLL_SECONDS": "0.2", "PUSH_LEASE_SECONDS": "5",
           "OUTAGE_HEARTBEAT_SECONDS": str(PULSE_SECONDS), "OUTAGE_THRESHOLD_MINUTES": "1440",
           "PUSH_CHECK_SECONDS": "1", "DASHBOARD_SNAPSHOT_SECONDS": "1", "RETENTION_SECONDS": "2"}
    for command in (["init"], ["demo"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "server", *command], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=300)
    cluster = Cluster(url, env, tmp_path)
    try:
        yield cluster
    finally:
        for process in list(cluster.processes):
            cluster.stop(process, signal.SIGKILL)
        cluster.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_servers_and_two_workers_do_each_thing_exactly_once(cluster):
    with PushService() as push_service:
        run_the_day(cluster, push_service)


def run_the_day(cluster, push_service):
    a, b = cluster.server("server-a"), cluster.server("server-b")
    cluster.worker("worker-1")
    cluster.worker("worker-2")
    phones = {}
    for username, login_at, subscribe_at in (("worker1", a, b), ("manager1", b, a), ("admin1", a, b)):
        login = cluster.login(login_at, username)
        phones[username] = (login, push_service.subscribe())
        cluster.call(subscribe_at, "POST", "/api/push/subscriptions", login, json=phones[username][1].info)

    # The worker's phone pushes a visit through one server, and the same batch again through the other.
    worker, _ = phones["worker1"]
    visit = cluster.call(a, "GET", "/api/sync/pull", worker)["visits"][0]
    events = [{"id": str(uuid.uuid4()), "type": kind, "occurred_at": datetime.now(timezone.utc).isoformat(),
               "device_seq": seq, "payload": {"visit_id": visit["id"]}}
              for seq, kind in enumerate(("visit_started", "visit_ended"), 1)]
    batch = {"protocol": 1, "device_id": worker["device_id"], "events": events,
             "status": {"pending": 2, "device_clock": datetime.now(timezone.utc).isoformat(), "app_version": "t"}}
    for server in (a, b):
        cluster.call(server, "POST", "/api/sync/push", worker, json=batch)
    assert cluster.rows("SELECT count(*) FROM events WHERE device_id = :d", d=worker["device_id"]) == [(2,)]

    # An outage 10 seconds short of the 24-hour threshold: the workers' clock, not a request, sees it cross.
    on_duty_later_today(cluster, "admin1")
    admin, _ = phones["admin1"]
    started_at = datetime.now(timezone.utc) - timedelta(hours=24) + timedelta(seconds=10)
    outage = cluster.call(a, "POST", "/api/outages", admin, json={
        "kind": "unplanned", "reporter_name": "Driftcentralen", "started_at": started_at.isoformat()})
    wait_for(lambda: cluster.rows("SELECT 1 FROM push_notifications WHERE kind = 'threshold_crossed'"),
             "the threshold to be crossed")

    # The manager decides: each worker post-registers, by a deadline a few seconds away; then it passes.
    manager, _ = phones["manager1"]
    deadline = datetime.now(timezone.utc) + timedelta(seconds=8)
    cluster.call(b, "POST", f"/api/outages/{outage['id']}/policy", manager,
                 json={"route": "self", "deadline": deadline.isoformat()})
    own_route = cluster.rows("SELECT count(*) FROM outage_gaps WHERE outage_id = :o AND route = 'self' "
                             "AND state = 'open'", o=outage["id"])[0][0]
    assert own_route > 0, cluster.rows("SELECT route, state, rule, count(*) FROM outage_gaps GROUP BY 1, 2, 3")
    wait_for(lambda: cluster.rows("SELECT count(*) FROM outage_gaps WHERE outage_id = :o AND route = 'self' "
                                  "AND state = 'open'", o=outage["id"]) == [(0,)], "the deadline to pass")

    # kill -9 a worker in the middle of the pulse: it is held inside the job by a row lock the test takes.
    with cluster.engine.connect() as held:
        held.execute(text("SELECT * FROM server_heartbeats FOR UPDATE"))
        wait_for(lambda: held.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                           "AND :me = ANY(pg_blocking_pids(pid))"),
                                      {"me": held.execute(text("SELECT pg_backend_pid()")).scalar()}).first(),
                 "a worker to block inside the pulse")
        [(victim_process, victim, due)] = [(name, *running) for name in ("worker-1", "worker-2")
                                           if (running := unfinished_pulse(cluster, name))]
        cluster.stop(victim_process, signal.SIGKILL)
        held.rollback()
    survivor = wait_for(lambda: cluster.rows("SELECT worker FROM job_runs WHERE job = 'outage_pulse' AND due_at = :d",
                                             d=datetime.fromisoformat(due)), "the other worker to do that run")
    assert survivor[0][0] != victim

    # Let everything settle: every delivery sent, a few more pulses; then stop the survivor and count.
    wait_for(lambda: cluster.rows("SELECT count(*) FROM push_deliveries WHERE state = 'pending'") == [(0,)]
             and cluster.rows("SELECT count(*) FROM push_notifications WHERE fanned_out_at IS NULL") == [(0,)],
             "every notification to be delivered")
    pulses = len(cluster.rows("SELECT 1 FROM job_runs WHERE job = 'outage_pulse'"))
    wait_for(lambda: len(cluster.rows("SELECT 1 FROM job_runs WHERE job = 'outage_pulse'")) >= pulses + 3,
             "three more pulses")
    assert cluster.stop({"worker-1": "worker-2", "worker-2": "worker-1"}[victim_process]) == 0

    # Each job's runs form one chain: each run was due when the previous one started plus the period, and
    # began after it ended — no due time was run twice or skipped, no two workers ran a job at once.
    for job, period in (("outage_pulse", 1), ("push_checks", 1), ("trend_snapshots", 1), ("retention", 2)):
        runs = cluster.rows("SELECT due_at, started_at, finished_at, outcome FROM job_runs WHERE job = :j "
                            "ORDER BY started_at", j=job)
        assert len(runs) >= 2 and {r.outcome for r in runs} == {"ok"}, (job, runs)
        for before, after in zip(runs, runs[1:]):
            assert after.due_at == before.started_at + timedelta(seconds=period), (job, before, after)
            assert after.started_at >= before.finished_at, (job, before, after)
    assert cluster.rows("SELECT count(*) FROM server_heartbeats") == [(1,)]
    assert cluster.rows("SELECT count(*) FROM outages") == [(1,)]  # no silence was mistaken for an outage

    # "Threshold crossed": once per manager of the unit, once in all.
    crossed = cluster.rows("SELECT user_id, count(*) FROM push_notifications WHERE kind = 'threshold_crossed' "
                           "GROUP BY user_id")
    assert crossed and {n for _, n in crossed} == {1}
    assert cluster.rows("SELECT threshold_notified_at IS NOT NULL FROM outages") == [(True,)]
    # Each gap escalated once when its deadline passed, and the administrators were told once.
    escalations = cluster.rows("SELECT d.gap_id, count(*) FROM outage_gap_decisions d JOIN outage_gaps g "
                               "ON g.id = d.gap_id WHERE g.outage_id = :o AND d.rule = 'self_deadline_passed' "
                               "GROUP BY d.gap_id", o=outage["id"])
    assert len(escalations) == own_route and {n for _, n in escalations} == {1}
    told = cluster.rows("SELECT user_id, count(*) FROM push_notifications WHERE kind = 'gap_escalated' "
                        "AND created_at > :deadline GROUP BY user_id", deadline=deadline)
    assert told and {n for _, n in told} == {1}
    reminded = cluster.rows("SELECT user_id, count(*) FROM push_notifications WHERE kind = 'deadline_today' "
                            "GROUP BY user_id")
    assert {n for _, n in reminded} <= {1}
    # Every delivery was made once, and each phone received each of its notifications once.
    assert cluster.rows("SELECT DISTINCT state FROM push_deliveries") == [("delivered",)]
    for username, (login, subscriber) in phones.items():
        meant = sorted(r[0] for r in cluster.rows("SELECT n.id FROM push_notifications n JOIN users u "
                                                  "ON u.id = n.user_id WHERE u.username = :u", u=username))
        received = sorted(m["payload"]["id"] for m in push_service.messages_for(subscriber))
        assert received == meant, username
    assert {r[0] for r in cluster.rows("SELECT n.kind FROM push_notifications n JOIN users u ON u.id = n.user_id "
                                       "WHERE u.username IN ('manager1', 'admin1')")} \
        >= {"gap_escalated", "threshold_crossed"}


def on_duty_later_today(cluster, username):
    """A visit later today for every worker of the user's unit: a deadline today is then one they could meet
    (rule 3; at night the demo's workers have no more visits today and the rules hand every gap to an admin)."""
    zone = ZoneInfo("Europe/Stockholm")  # the configured TIMEZONE
    now = datetime.now(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), zone)
    start = now + (midnight - now) / 2
    with cluster.engine.begin() as conn:
        [(unit_id, client_id)] = conn.execute(text(
            "SELECT u.unit_id, min(c.id) FROM users u JOIN clients c ON c.unit_id = u.unit_id "
            "WHERE u.username = :u GROUP BY u.unit_id"), {"u": username}).all()
        for (worker_id,) in conn.execute(text("SELECT id FROM users WHERE role = 'worker' AND unit_id = :u"),
                                         {"u": unit_id}).all():
            visit_id = conn.execute(text(
                "INSERT INTO visits (unit_id, client_id, planned_start, planned_end, cancelled, updated_at) "
                "VALUES (:u, :c, :s, :e, false, now()) RETURNING id"),
                {"u": unit_id, "c": client_id, "s": start, "e": start + timedelta(seconds=1)}).scalar()
            conn.execute(text("INSERT INTO visit_workers (visit_id, worker_id) VALUES (:v, :w)"),
                         {"v": visit_id, "w": worker_id})


def unfinished_pulse(cluster, process_name):
    """(worker, due time) of a pulse this worker process started and has not finished, else None."""
    log = cluster.log(process_name)
    starts = list(STARTED.finditer(log))
    if not starts:
        return None
    last = starts[-1]
    finished = re.search(rf"worker {re.escape(last.group(1))}: outage_pulse (ok|failed)", log[last.end():])
    return None if finished else (last.group(1), last.group(2))
