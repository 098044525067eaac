"""Transfer back to the journal (issue 30): after an outage the list holds exactly what was recorded in its
window, each item once, by client and visit; ticking every item closes the loop."""
import uuid

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AccessLog, Visit
from tests.api.test_outages import at, declare, iso, user_id, visits_of


def intervention_ids(app, visit_id):
    with app.app_context():
        return [i.id for i in db.session.get(Visit, visit_id).interventions]


def client_of(app, visit_id):
    with app.app_context():
        return db.session.get(Visit, visit_id).client_id


@pytest.fixture
def outage_with_records(app, admin, auth):
    """Yesterday 10:00–13:00 the journal system was down. worker1's phone recorded a visit (start, end, an
    intervention, a note, a fall) inside the window and notes outside it; the administrator backfilled
    worker2's 11:30 visit (inside) and 08:30 visit (outside)."""
    worker = auth.login("worker1")
    outage = declare(admin, at(-1, 10), at(-1, 13))
    v1 = visits_of(app, "worker1", at(-1, 10), at(-1, 13))[0]
    i1 = intervention_ids(app, v1)[0]
    c1 = client_of(app, v1)
    inside = [worker.event("visit_started", {"visit_id": v1}, occurred_at=iso(at(-1, 10, 31))),
              worker.event("intervention_recorded", {"visit_id": v1, "intervention_id": i1, "status": "done"},
                           occurred_at=iso(at(-1, 10, 40))),
              worker.event("note_added", {"client_id": c1, "visit_id": v1, "text": "Åt bra, pigg."},
                           occurred_at=iso(at(-1, 10, 45))),
              worker.event("deviation_reported", {"category": "fall", "description": "Halkade i hallen.",
                                                  "client_id": c1, "visit_id": v1}, occurred_at=iso(at(-1, 10, 50))),
              worker.event("visit_ended", {"visit_id": v1}, occurred_at=iso(at(-1, 10, 55))),
              # the same visit's end again, corrected: still one item for the visit's times
              worker.event("visit_ended", {"visit_id": v1, "at": iso(at(-1, 10, 58)), "adjust_reason": "Glömde"},
                           occurred_at=iso(at(-1, 10, 57)))]
    outside = [worker.event("note_added", {"client_id": c1, "text": "Före driftstoppet."},
                            occurred_at=iso(at(-1, 9, 0))),
               worker.event("note_added", {"client_id": c1, "text": "Efter driftstoppet."},
                            occurred_at=iso(at(-1, 13, 30)))]
    results = worker.push(inside + outside).json["results"]
    assert [r["status"] for r in results] == ["applied"] * 8, results
    w2 = user_id(app, "worker2")
    v2 = visits_of(app, "worker2", at(-1, 11), at(-1, 12))[0]
    early = visits_of(app, "worker2", at(-1, 8), at(-1, 9))[0]
    i2 = intervention_ids(app, v2)[0]
    for visit, start, interventions in ((v2, at(-1, 11, 30), [{"intervention_id": i2, "status": "not_done",
                                                               "reason": "declined"}]),
                                        (early, at(-1, 8, 30), [])):
        response = admin.post("/api/backfills", json={
            "visit_id": visit, "worker_id": w2, "started_at": iso(start), "ended_at": iso(start.replace(minute=50)),
            "interventions": interventions, "information_source": "paper_form", "request_id": str(uuid.uuid4())})
        assert response.status_code in (200, 201), response.json
    w1 = user_id(app, "worker1")
    return {"outage": outage, "expected": {
        f"visit:{v1}:{w1}", f"intervention:{v1}:{w1}:{i1}", f"note:{inside[2]['id']}",
        f"deviation:{inside[3]['id']}", f"visit:{v2}:{w2}", f"intervention:{v2}:{w2}:{i2}"},
        "worker": worker, "v1": v1}


def keys(body):
    return [item["key"] for group in body["clients"] for item in group["items"]]


def test_the_list_holds_exactly_what_was_recorded_in_the_window_each_once(app, admin, outage_with_records):
    body = admin.get(f"/api/loop/transfer/{outage_with_records['outage']['id']}").json
    listed = keys(body)
    assert sorted(listed) == sorted(outage_with_records["expected"])  # each once, nothing outside the window
    assert body["counts"] == {"total": 6, "transferred": 0, "changed": 0, "left": 6} and body["closed"] is False
    items = {i["key"]: i for group in body["clients"] for i in group["items"]}
    visit_item = next(i for k, i in items.items() if k.startswith(f"visit:{outage_with_records['v1']}:"))
    assert visit_item["content"]["ended_at"].startswith(iso(at(-1, 10, 58))[:16])  # what stands now
    assert {i["type_label"] for i in items.values()} == {"Besökstid", "Insats", "Anteckning", "Avvikelse"}
    declined = next(i for i in items.values() if i["type"] == "intervention" and i["content"]["status"] == "not_done")
    assert (declined["content"]["reason_label"], declined["content"]["source"]) == ("Avböjde", "backfill")
    assert all(group["client"]["personal_number"] for group in body["clients"])


def test_ticking_every_item_closes_the_loop_on_the_dashboard(app, admin, manager, outage_with_records):
    outage_id = outage_with_records["outage"]["id"]
    summary = manager.get("/api/loop/transfer").json
    [row] = [o for o in summary["outages"] if o["outage"]["id"] == outage_id]
    assert (row["left"], row["closed"]) == (6, False) and summary["left"] == 6

    first = sorted(outage_with_records["expected"])[:2]
    assert admin.post(f"/api/loop/transfer/{outage_id}/marks", json={"item_keys": first}).json["left"] == 4
    body = admin.get(f"/api/loop/transfer/{outage_id}").json
    ticked = [i for g in body["clients"] for i in g["items"] if i["transferred"]]
    assert sorted(i["key"] for i in ticked) == first
    assert all(i["transferred"]["by"]["id"] == admin.user["id"] and i["transferred"]["at"] for i in ticked)

    rest = sorted(outage_with_records["expected"])[2:]
    done = admin.post(f"/api/loop/transfer/{outage_id}/marks", json={"item_keys": rest})
    assert done.json == {"total": 6, "transferred": 6, "changed": 0, "left": 0}
    summary = manager.get("/api/loop/transfer").json
    [row] = [o for o in summary["outages"] if o["outage"]["id"] == outage_id]
    assert row["closed"] is True and summary["left"] == 0 and summary["open_outages"] == 0


def test_an_item_changed_after_it_was_transferred_is_left_again(app, admin, outage_with_records):
    outage_id = outage_with_records["outage"]["id"]
    admin.post(f"/api/loop/transfer/{outage_id}/marks", json={"item_keys": sorted(outage_with_records["expected"])})
    worker, v1 = outage_with_records["worker"], outage_with_records["v1"]
    late = worker.event("visit_ended", {"visit_id": v1, "at": iso(at(-1, 11, 5)), "adjust_reason": "Rättat"},
                        occurred_at=iso(at(-1, 11, 0)))
    assert worker.push([late]).json["results"][0]["status"] == "applied"
    body = admin.get(f"/api/loop/transfer/{outage_id}").json
    assert body["counts"]["left"] == 1 and body["counts"]["changed"] == 1 and body["closed"] is False
    [changed] = [i for g in body["clients"] for i in g["items"] if i["changed"]]
    assert changed["key"].startswith(f"visit:{v1}:")
    admin.post(f"/api/loop/transfer/{outage_id}/marks", json={"item_keys": [changed["key"]]})
    assert admin.get(f"/api/loop/transfer/{outage_id}").json["closed"] is True


def test_unknown_items_are_refused_and_a_mistaken_tick_can_be_undone(app, admin, outage_with_records):
    outage_id = outage_with_records["outage"]["id"]
    refused = admin.post(f"/api/loop/transfer/{outage_id}/marks", json={"item_keys": ["note:nope"]})
    assert refused.status_code == 422
    key = sorted(outage_with_records["expected"])[0]
    admin.post(f"/api/loop/transfer/{outage_id}/marks", json={"item_keys": [key]})
    undone = admin.post(f"/api/loop/transfer/{outage_id}/unmarks", json={"item_keys": [key]})
    assert undone.json["left"] == 6


def test_another_unit_sees_nothing_and_the_opening_is_logged(app, admin, admin2, outage_with_records):
    outage_id = outage_with_records["outage"]["id"]
    assert admin2.get(f"/api/loop/transfer/{outage_id}").status_code == 403
    key = sorted(outage_with_records["expected"])[0]
    assert admin2.post(f"/api/loop/transfer/{outage_id}/marks", json={"item_keys": [key]}).status_code == 403
    assert all(o["outage"]["id"] != outage_id for o in admin2.get("/api/loop/transfer").json["outages"])
    body = admin.get(f"/api/loop/transfer/{outage_id}").json
    assert body["counts"]["transferred"] == 0
    with app.app_context():
        logged = {c for (c,) in db.session.execute(select(AccessLog.client_id).where(
            AccessLog.user_id == admin.user["id"], AccessLog.action == "transfer_list"))}
    assert logged == {g["client"]["id"] for g in body["clients"]}
