"""A push is stored as a batch (one INSERT for the log, one upsert per projection table): within one batch
the highest-ranked record must win exactly as if the events had arrived one by one, in any order."""
from datetime import datetime, timedelta, timezone

import pytest

from server.extensions import db
from server.models import Event, InterventionRecord, Registration
from server.projection_store import compute


@pytest.fixture
def worker(auth):
    s = auth.login("worker1")
    s.package = s.pull()
    return s


def iso(moment):
    return moment.isoformat()


def test_the_later_record_wins_inside_one_batch_whatever_the_order(app, worker):
    visit = worker.package["visits"][0]
    intervention = visit["interventions"][0]["id"]
    now = datetime.now(timezone.utc)
    early, late = now - timedelta(minutes=30), now - timedelta(minutes=5)
    later_start = worker.event("visit_started", {"visit_id": visit["id"]}, occurred_at=iso(late))
    earlier_start = worker.event("visit_started", {"visit_id": visit["id"]}, occurred_at=iso(early))
    later_outcome = worker.event("intervention_recorded", {"visit_id": visit["id"], "intervention_id": intervention,
                                                           "status": "not_done", "reason": "declined"},
                                 occurred_at=iso(late))
    earlier_outcome = worker.event("intervention_recorded", {"visit_id": visit["id"], "intervention_id": intervention,
                                                             "status": "done"}, occurred_at=iso(early))
    r = worker.push([later_start, later_outcome, earlier_start, earlier_outcome])
    assert [x["status"] for x in r.json["results"]] == ["applied"] * 4
    with app.app_context():
        reg = db.session.query(Registration).filter_by(visit_id=visit["id"]).one()
        assert abs((reg.started_at - late).total_seconds()) < 1
        outcome = db.session.query(InterventionRecord).filter_by(visit_id=visit["id"]).one()
        assert (outcome.status, outcome.reason) == ("not_done", "declined")


def test_a_batch_projects_what_replaying_the_log_gives(app, worker):
    """Many visits, starts and ends and outcomes mixed in one batch: the stored projection equals the pure fold."""
    now = datetime.now(timezone.utc)
    events = []
    for n, visit in enumerate(worker.package["visits"][:6]):
        for k, type_ in enumerate(["visit_ended", "visit_started", "visit_started", "visit_ended"]):
            events.append(worker.event(type_, {"visit_id": visit["id"]},
                                       occurred_at=iso(now - timedelta(minutes=60 - n * 5 - k))))
        for item in visit["interventions"]:
            events.append(worker.event("intervention_recorded", {"visit_id": visit["id"], "intervention_id": item["id"],
                                                                 "status": "done"}))
    r = worker.push(events)
    assert all(x["status"] == "applied" for x in r.json["results"])
    with app.app_context():
        assert db.session.query(Event).count() == len(events)
        regs, outcomes = compute()
        stored = {(g.visit_id, g.worker_id): (g.started_key, g.ended_key) for g in db.session.query(Registration)}
        assert stored == {k: (v.started_key, v.ended_key) for k, v in regs.items()}
        stored_outcomes = {(o.visit_id, o.worker_id, o.intervention_id): o.key for o in db.session.query(InterventionRecord)}
        assert stored_outcomes == {k: v.key for k, v in outcomes.items()}
