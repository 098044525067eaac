"""Exactly-once under concurrency, and the log as the truth: replay rebuilds the projection."""
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone

from server.extensions import db
from server.models import Event, InterventionRecord, Registration
from server.projection_store import compute, rebuild


def _projection_rows():
    regs = sorted((r.visit_id, r.worker_id, r.started_at, r.started_key, r.ended_at, r.ended_key)
                  for r in db.session.query(Registration))
    outs = sorted((r.visit_id, r.worker_id, r.intervention_id, r.status, r.reason, r.key)
                  for r in db.session.query(InterventionRecord))
    return regs, outs


def test_the_same_events_pushed_concurrently_are_stored_once(app, auth):
    s = auth.login("worker1")
    visits = s.pull()["visits"]
    events = []
    for v in visits[:6]:
        events.append(s.event("visit_started", {"visit_id": v["id"]}))
        events.append(s.event("intervention_recorded", {"visit_id": v["id"], "intervention_id": v["interventions"][0]["id"],
                                                        "status": "done"}))
        events.append(s.event("visit_ended", {"visit_id": v["id"]}))
    body = s.push_body(events)
    barrier = threading.Barrier(8)
    answers, failures = [], []

    def device_retrying():
        client = app.test_client()
        barrier.wait()
        for _ in range(3):
            r = client.post("/api/sync/push", json=body, headers=s.headers)
            if r.status_code == 200:
                answers.append([x["status"] for x in r.json["results"]])
                return
            failures.append(r.status_code)  # transient (e.g. a lock timeout) → the device retries
        answers.append(None)

    threads = [threading.Thread(target=device_retrying) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in answers, failures
    applied = sum(a.count("applied") for a in answers)
    assert applied == len(events), "every event applied exactly once across all concurrent pushes"
    assert all(status in ("applied", "duplicate") for a in answers for status in a)
    with app.app_context():
        assert db.session.query(Event).count() == len(events)
        assert db.session.query(Registration).count() == 6
        assert db.session.query(InterventionRecord).count() == 6


def test_replaying_the_log_rebuilds_the_same_state(app, auth):
    rng = random.Random(7)
    sessions = [auth.login(f"worker{i}") for i in (1, 2, 3)]
    now = datetime.now(timezone.utc)
    for s in sessions:
        visits = s.pull()["visits"]
        events = []
        for v in visits[:5]:
            for _ in range(rng.randint(1, 3)):  # corrections: several starts, the latest wins
                t = now - timedelta(minutes=rng.randint(0, 300))
                events.append(s.event("visit_started", {"visit_id": v["id"]}, occurred_at=t.isoformat()))
            events.append(s.event("visit_ended", {"visit_id": v["id"]}))
            for iv in v["interventions"]:
                status = rng.choice(["done", "not_done"])
                payload = {"visit_id": v["id"], "intervention_id": iv["id"], "status": status}
                if status == "not_done":
                    payload["reason"] = rng.choice(["declined", "client_absent", "other"])
                events.append(s.event("intervention_recorded", payload,
                                      occurred_at=(now - timedelta(minutes=rng.randint(0, 300))).isoformat()))
        rng.shuffle(events)  # delivered out of order, in small batches
        for i in range(0, len(events), 7):
            assert s.push(events[i:i + 7]).status_code == 200
    with app.app_context():
        incremental = _projection_rows()
        assert incremental[0] and incremental[1]
        regs, outcomes = compute()
        assert len(regs) == len(incremental[0]) and len(outcomes) == len(incremental[1])
        rebuild()
        db.session.commit()
        assert _projection_rows() == incremental


def test_unknown_ids_never_collide_with_applied_ones(app, auth):
    s = auth.login("worker1")
    visit = s.pull()["visits"][0]
    ids = {str(uuid.uuid4()) for _ in range(20)}
    events = [s.event("client_record_opened", {"client_id": visit["client_id"], "view": "overview"}, id_=i) for i in ids]
    assert {r["status"] for r in s.push(events).json["results"]} == {"applied"}
    with app.app_context():
        assert {e.id for e in db.session.query(Event)} == ids
