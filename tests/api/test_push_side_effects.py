"""Each side effect of a stored record happens in the one push path whatever else the batch holds: an opened
client record always leaves its access-log row (HSLF-FS 2016:40), and a registration always re-evaluates the
outage gap of its visit — next to duplicates, quarantined neighbours, another worker's visits, in a batch of 100."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AccessLog

from tests.api.test_outages import at, declare, iso

REASON = "Efterregistrering efter driftstopp"


@pytest.fixture
def gap(admin, worker):
    declare(admin, at(-1, 7), at(-1, 12))
    return worker.get("/api/me/gaps").json["gaps"][0]


def _registration(worker, visit):
    start = datetime.fromisoformat(visit["planned_start"])
    return [worker.event(kind, {"visit_id": visit["id"], "at": iso(moment), "adjust_reason": REASON,
                                "post_registration": True})
            for kind, moment in (("visit_started", start), ("visit_ended", start + timedelta(minutes=20)))]


def _neighbours(worker, auth, what):
    """Records that are not the point of the batch but must not change what happens to it."""
    visit = worker.package["visits"][0]
    if what == "alone":
        return []
    if what == "duplicates":
        earlier = [worker.event("note_added", {"client_id": visit["client_id"], "text": f"Anteckning {i}"})
                   for i in range(3)]
        assert all(r["status"] == "applied" for r in worker.push(earlier).json["results"])
        return earlier
    if what == "quarantined":
        return [worker.event("visit_started", {"visit_id": 999_999}),
                worker.event("note_added", {"client_id": 999_999, "text": "Okänd brukare"})]
    if what == "another worker's visit":
        theirs = next(v for v in auth.login("worker3").pull()["visits"]
                      if worker.user["id"] not in [w["id"] for w in v["workers"]])
        return [worker.event("visit_started", {"visit_id": theirs["id"]})]
    assert what == "a batch of 100"
    return [worker.event("note_added", {"client_id": visit["client_id"], "text": f"Rad {i}"}) for i in range(96)]


@pytest.mark.parametrize("what", ["alone", "duplicates", "quarantined", "another worker's visit", "a batch of 100"])
def test_an_opened_record_and_a_registration_have_their_side_effects_whatever_else_is_in_the_batch(
        app, auth, worker, gap, what):
    client_id = gap["visit"]["client_id"]
    opened = worker.event("client_record_opened", {"client_id": client_id, "view": "medication_list"})
    batch = _neighbours(worker, auth, what)
    batch[len(batch) // 2:len(batch) // 2] = [opened, *_registration(worker, gap["visit"])]
    r = worker.push(batch)
    assert r.status_code == 200, r.json
    by_id = {x["id"]: x["status"] for x in r.json["results"]}
    assert by_id[opened["id"]] == "applied"
    with app.app_context():
        logged = db.session.scalars(select(AccessLog).where(AccessLog.event_id == opened["id"])).all()
        assert [(row.action, row.client_id, row.offline) for row in logged] == [("open_medication_list", client_id,
                                                                                 True)]
    detail = worker.get(f"/api/gaps/{gap['id']}").json
    assert detail["state"] == "closed" and detail["rule"] == "registered"
    # and a resend of the whole batch changes none of it
    assert all(x["status"] in ("duplicate", "rejected") for x in worker.push(batch).json["results"])
    with app.app_context():
        assert db.session.query(AccessLog).filter_by(event_id=opened["id"]).count() == 1
