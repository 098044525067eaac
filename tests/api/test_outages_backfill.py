"""The worker's gaps, self-registration through sync, hand-over, the administrator's backfill queue and backfill,
conflicts, quarantine, absences and lock dates — with bad input and cross-unit access for every endpoint."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Event, QuarantinedEvent, Registration, Unit, Visit
from server.outages.models import Gap, GapDecision

from tests.api.test_outages import at, declare, iso, user_id, visits_of  # noqa: F401  (shared helpers)

REASON = "Efterregistrering efter driftstopp"


@pytest.fixture
def outage(admin):
    return declare(admin, at(-1, 7), at(-1, 12))


def first_gap(session, outage_id=None):
    gaps = session.get("/api/me/gaps").json["gaps"]
    return next(g for g in gaps if outage_id is None or g["outage_id"] == outage_id)


def post_registration(worker, visit, start, end):
    """What the PWA sends for a missed visit: ordinary events marked post_registration, times set by hand."""
    events = [worker.event("visit_started", {"visit_id": visit["id"], "at": iso(start), "adjust_reason": REASON,
                                             "post_registration": True}),
              worker.event("visit_ended", {"visit_id": visit["id"], "at": iso(end), "adjust_reason": REASON,
                                           "post_registration": True})]
    for item in visit["interventions"]:
        events.append(worker.event("intervention_recorded", {"visit_id": visit["id"], "intervention_id": item["id"],
                                                             "status": "done", "post_registration": True}))
    return worker.push(events)


# ---------------------------------------------------------------------------------------------- the worker

def test_the_worker_sees_own_gaps_with_what_is_needed_to_register_them(app, worker, outage):
    body = worker.get("/api/me/gaps").json
    gaps = body["gaps"]
    assert {g["visit"]["id"] for g in gaps} == set(visits_of(app, "worker1", at(-1, 7), at(-1, 12)))
    g = gaps[0]
    assert g["route"] == "self" and g["visit"]["client_name"] and g["visit"]["interventions"]
    assert {x["worker"]["id"] for x in gaps} == {worker.user["id"]}
    with app.app_context():
        from server.models import AccessLog
        actions = db.session.scalars(select(AccessLog.action).where(AccessLog.user_id == worker.user["id"])).all()
    assert "post_registration_list" in actions


def test_staff_have_no_personal_gap_list(admin):
    assert admin.get("/api/me/gaps").status_code == 403


def test_self_registration_through_sync_closes_the_gap_and_keeps_the_history(app, worker, outage):
    gap = first_gap(worker)
    visit = gap["visit"]
    start = datetime.fromisoformat(visit["planned_start"])
    response = post_registration(worker, visit, start, start + timedelta(minutes=25))
    assert [r["status"] for r in response.json["results"]] == ["applied"] * len(response.json["results"])
    detail = worker.get(f"/api/gaps/{gap['id']}").json
    assert detail["state"] == "closed" and detail["rule"] == "registered"
    assert [h["rule"] for h in detail["history"]] == ["short_outage_self", "registered"]
    assert detail["history"][-1]["trigger"] == "event:visit_ended"
    assert gap["id"] not in {g["id"] for g in worker.get("/api/me/gaps").json["gaps"] if g["state"] == "open"}


def test_a_start_alone_does_not_close_the_gap(worker, outage):
    gap = first_gap(worker)
    start = datetime.fromisoformat(gap["visit"]["planned_start"])
    worker.push([worker.event("visit_started", {"visit_id": gap["visit"]["id"], "at": iso(start),
                                                "adjust_reason": REASON, "post_registration": True})])
    detail = worker.get(f"/api/gaps/{gap['id']}").json
    assert detail["state"] == "open" and detail["inputs"]["registration"] == "partial"


def test_handing_a_gap_over_sends_it_to_the_backfill_queue(app, admin, worker, outage):
    gap = first_gap(worker)
    response = worker.push([worker.event("gap_handed_over", {"visit_id": gap["visit"]["id"], "reason": "Ledig i morgon"})])
    assert response.json["results"][0]["status"] == "applied"
    detail = worker.get(f"/api/gaps/{gap['id']}").json
    assert detail["route"] == "admin" and detail["rule"] == "handed_over"
    queue = admin.get("/api/backfill-queue").json["gaps"]
    assert [g["id"] for g in queue] == [gap["id"]]
    with app.app_context():
        from server.notify.models import PushNotification
        told = db.session.scalars(select(PushNotification.user_id).where(PushNotification.kind == "gap_escalated")).all()
    assert told == [user_id(app, "admin1")]


def test_another_workers_gap_is_403(auth, worker, outage):
    gap = first_gap(worker)
    assert auth.login("worker2").get(f"/api/gaps/{gap['id']}").status_code == 403
    assert auth.login("admin2").get(f"/api/gaps/{gap['id']}").status_code == 403
    assert worker.get("/api/gaps/999999").status_code == 404


def test_a_deadline_passing_escalates_to_the_administrators(app, admin, worker, outage):
    gap = first_gap(worker)
    with app.app_context():
        from server.outages import evaluation
        evaluation.tick(datetime.fromisoformat(gap["deadline"]) + timedelta(minutes=1))
        db.session.commit()
        row = db.session.get(Gap, gap["id"])
        assert (row.route, row.rule) == ("admin", "self_deadline_passed")


def test_the_day_before_the_deadline_the_worker_is_reminded_once(app, worker, outage):
    gap = first_gap(worker)
    with app.app_context():
        from server.notify.models import PushNotification
        from server.outages import evaluation
        moment = datetime.fromisoformat(gap["deadline"]) - timedelta(hours=3)
        assert evaluation.tick(moment) > 0
        assert evaluation.tick(moment + timedelta(minutes=5)) == 0
        db.session.commit()
        rows = db.session.scalars(select(PushNotification).where(PushNotification.kind == "deadline_today")).all()
        assert {r.user_id for r in rows} == {user_id(app, f"worker{n}") for n in range(1, 7)}


# ---------------------------------------------------------------------------------------------- absences

def test_marking_a_worker_absent_routes_the_gaps_to_the_administrators_and_back(app, admin, worker, outage):
    today = datetime.fromisoformat(first_gap(worker)["deadline"]) - timedelta(hours=12)
    day = today.date().isoformat()
    marked = admin.post("/api/absences", json={"worker_id": worker.user["id"], "from": day, "reason": "Sjuk"})
    assert marked.status_code == 201, marked.json
    gap = first_gap(worker)
    assert (gap["route"], gap["rule"]) == ("admin", "worker_absent")
    listed = admin.get(f"/api/absences?from={day}&to={day}").json["absences"]
    assert [a["worker_id"] for a in listed] == [worker.user["id"]]
    assert admin.client.delete(f"/api/absences/{listed[0]['id']}", headers=admin.headers).status_code == 204
    gap = first_gap(worker)
    assert (gap["route"], gap["rule"]) == ("self", "short_outage_self")
    with app.app_context():
        rules_seen = db.session.scalars(select(GapDecision.rule).where(GapDecision.gap_id == gap["id"])
                                        .order_by(GapDecision.id)).all()
    assert rules_seen == ["short_outage_self", "worker_absent", "short_outage_self"]


@pytest.mark.parametrize("body,status", [
    ({"worker_id": "W", "from": "2026-13-01"}, 422), ({"from": "2026-02-01"}, 422),
    ({"worker_id": "W", "from": "2026-02-05", "to": "2026-02-01"}, 422),
    ({"worker_id": 99999, "from": "2026-02-01"}, 404), ({"worker_id": "ADMIN", "from": "2026-02-01"}, 404),
])
def test_bad_absences_are_rejected(admin, worker, body, status):
    ids = {"W": worker.user["id"], "ADMIN": admin.user["id"]}
    body = {k: ids.get(v, v) if k == "worker_id" else v for k, v in body.items()}
    assert admin.post("/api/absences", json=body).status_code == status


def test_absences_are_unit_scoped(app, admin, admin2, worker):
    response = admin2.post("/api/absences", json={"worker_id": worker.user["id"], "from": "2026-02-01"})
    assert response.status_code == 403
    made = admin.post("/api/absences", json={"worker_id": worker.user["id"], "from": "2026-02-01"}).json
    assert admin2.client.delete(f"/api/absences/{made['absences'][0]['id']}", headers=admin2.headers).status_code == 403
    assert admin2.get("/api/absences").json["absences"] == []
    assert worker.post("/api/absences", json={"worker_id": worker.user["id"], "from": "2026-02-01"}).status_code == 403
    assert admin.get("/api/absences?from=tomorrow").status_code == 422


# ---------------------------------------------------------------------------------------------- backfill

def backfill_body(gap, worker_id, **extra):
    start = datetime.fromisoformat(gap["visit"]["planned_start"])
    return {"visit_id": gap["visit"]["id"], "worker_id": worker_id, "started_at": iso(start + timedelta(minutes=5)),
            "ended_at": iso(start + timedelta(minutes=30)), "information_source": "paper_form",
            "note": "Blankett från pärmen", "interventions": [{"intervention_id": i["id"], "status": "done"}
                                                               for i in gap["visit"]["interventions"]], **extra}


def test_an_administrator_backfills_for_a_worker_and_the_gap_closes(app, admin, worker, outage):
    gap = first_gap(worker)
    request_id = str(uuid.uuid4())
    response = admin.post("/api/backfills", json=backfill_body(gap, worker.user["id"], request_id=request_id))
    assert response.status_code == 201, response.json
    again = admin.post("/api/backfills", json=backfill_body(gap, worker.user["id"], request_id=request_id))
    assert again.status_code == 200 and again.json["duplicate"] is True
    with app.app_context():
        events = db.session.scalars(select(Event).where(Event.visit_id == gap["visit"]["id"])).all()
        assert {e.source for e in events} == {"backfill"}
        assert {e.user_id for e in events} == {worker.user["id"]}  # on whose behalf
        assert {e.recorded_by for e in events} == {admin.user["id"]}  # who
        assert all(e.payload["backfill"]["information_source"] == "paper_form" for e in events)
        assert all(e.payload["post_registration"] is True for e in events)
        assert len(events) == 2 + len(gap["visit"]["interventions"])
        reg = db.session.scalar(select(Registration).where(Registration.visit_id == gap["visit"]["id"]))
        assert reg.started_source == "backfill" and reg.ended_at is not None
    detail = admin.get(f"/api/gaps/{gap['id']}").json
    assert detail["state"] == "closed" and "administratör" in detail["explanation"]


@pytest.mark.parametrize("change,status,field", [
    (lambda b, g: b.update(information_source="rumour"), 422, "information_source"),
    (lambda b, g: b.pop("information_source"), 422, "information_source"),
    (lambda b, g: b.update(ended_at=iso(datetime.fromisoformat(b["started_at"]) - timedelta(minutes=1))),
     422, "ended_at"),
    (lambda b, g: b.update(worker_id=b["worker_id"] + 1), 422, "worker_id"),
    (lambda b, g: b.update(interventions=[{"intervention_id": 999999, "status": "done"}]), 422, "interventions"),
    (lambda b, g: b.update(interventions=[{"intervention_id": 1, "status": "not_done"}]), 422, "interventions"),
    (lambda b, g: b.update(started_at=None, ended_at=None, interventions=[]), 422, "started_at"),
    (lambda b, g: b.update(visit_id=999999), 404, None),
    (lambda b, g: b.update(started_at="08:00"), 422, "started_at"),
    (lambda b, g: b.update(outage_id=999999), 404, None),
])
def test_bad_backfills_are_rejected_and_store_nothing(app, admin, worker, outage, change, status, field):
    gap = first_gap(worker)
    body = backfill_body(gap, worker.user["id"])
    change(body, gap)
    response = admin.post("/api/backfills", json=body)
    assert response.status_code == status, response.json
    if field:
        assert any(key.startswith(field) for key in response.json["errors"]), response.json
    with app.app_context():
        assert db.session.scalar(select(Event.id).where(Event.source == "backfill")) is None


def test_backfill_is_for_administrators_of_the_visits_unit(auth, admin2, worker, outage):
    gap = first_gap(worker)
    body = backfill_body(gap, worker.user["id"])
    assert admin2.post("/api/backfills", json=body).status_code == 403
    assert auth.login("manager1").post("/api/backfills", json=body).status_code == 403
    assert worker.post("/api/backfills", json=body).status_code == 403


def test_the_backfill_queue_filters_and_sorts_by_deadline(admin, admin2, worker, outage):
    gap = first_gap(worker)
    worker.push([worker.event("gap_handed_over", {"visit_id": gap["visit"]["id"]})])
    assert [g["id"] for g in admin.get(f"/api/backfill-queue?worker_id={worker.user['id']}").json["gaps"]] == [gap["id"]]
    assert admin.get("/api/backfill-queue?worker_id=999").json["gaps"] == []
    everything = admin.get("/api/backfill-queue?route=all").json["gaps"]
    deadlines = [g["deadline"] for g in everything]
    assert deadlines == sorted(deadlines) and len(everything) > 1
    assert admin.get("/api/backfill-queue?route=nobody").status_code == 422
    assert admin.get("/api/backfill-queue?overdue=maybe").status_code == 422
    assert admin.get("/api/backfill-queue?outage_id=x").status_code == 422
    assert admin2.get("/api/backfill-queue").json["gaps"] == []
    assert worker.get("/api/backfill-queue").status_code == 403


# ---------------------------------------------------------------------------------------------- conflicts

def test_backfill_first_then_the_device_record_is_a_conflict_with_the_device_effective(app, admin, worker, outage):
    gap = first_gap(worker)
    visit = gap["visit"]
    start = datetime.fromisoformat(visit["planned_start"])
    admin.post("/api/backfills", json=backfill_body(gap, worker.user["id"]))  # started at +5 min
    post_registration(worker, visit, start + timedelta(minutes=12), start + timedelta(minutes=40))  # the phone
    conflicts = admin.get("/api/conflicts").json["conflicts"]
    assert len(conflicts) == 1 and conflicts[0]["visit_id"] == visit["id"] and not conflicts[0]["resolved"]
    started = next(f for f in conflicts[0]["fields"] if f["field"] == "started_at")
    assert started["effective_source"] == "device" and started["differs"]
    assert "Telefonens registrering gäller tills någon beslutar annat" in started["explanation"]
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.visit_id == visit["id"]))
        assert reg.started_source == "device" and reg.started_at == start + timedelta(minutes=12)
        assert {e.source for e in db.session.scalars(select(Event).where(Event.visit_id == visit["id"]))} == \
            {"device", "backfill"}  # both kept


def test_an_administrator_can_make_the_backfill_effective_and_both_records_stay(app, admin, worker, outage):
    gap = first_gap(worker)
    visit = gap["visit"]
    start = datetime.fromisoformat(visit["planned_start"])
    admin.post("/api/backfills", json=backfill_body(gap, worker.user["id"]))
    post_registration(worker, visit, start + timedelta(minutes=12), start + timedelta(minutes=40))
    bad = admin.post("/api/conflicts/resolve", json={"visit_id": visit["id"], "worker_id": worker.user["id"],
                                                     "effective": "neither", "note": "x"})
    assert bad.status_code == 422
    resolved = admin.post("/api/conflicts/resolve", json={"visit_id": visit["id"], "worker_id": worker.user["id"],
                                                          "effective": "backfill",
                                                          "note": "Telefonens klocka gick fel enligt medarbetaren"})
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolved"] and all(f["effective_source"] in ("resolution", "device")
                                             for f in resolved.json["fields"])
    assert admin.get("/api/conflicts").json["conflicts"] == []
    assert len(admin.get("/api/conflicts?state=resolved").json["conflicts"]) == 1
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.visit_id == visit["id"]))
        assert reg.started_at == start + timedelta(minutes=5) and reg.started_source == "resolution"
        from server.projection_store import compute
        regs, _ = compute()  # a replay of the log agrees
        assert regs[(visit["id"], worker.user["id"])].started_at == start + timedelta(minutes=5)
    again = admin.post("/api/conflicts/resolve", json={"visit_id": visit["id"], "worker_id": worker.user["id"],
                                                       "effective": "device", "note": "ångrar"})
    assert again.status_code == 409


def test_confirming_the_device_record_closes_the_conflict(admin, worker, outage, admin2):
    gap = first_gap(worker)
    visit = gap["visit"]
    start = datetime.fromisoformat(visit["planned_start"])
    admin.post("/api/backfills", json=backfill_body(gap, worker.user["id"]))
    post_registration(worker, visit, start + timedelta(minutes=12), start + timedelta(minutes=40))
    body = {"visit_id": visit["id"], "worker_id": worker.user["id"], "effective": "device", "note": "Telefonen har rätt"}
    assert admin2.post("/api/conflicts/resolve", json=body).status_code == 403
    assert admin2.get("/api/conflicts").json["conflicts"] == []
    assert admin.post("/api/conflicts/resolve", json=body).status_code == 200
    assert admin.get("/api/conflicts").json["conflicts"] == []
    missing = dict(body, visit_id=visit["id"], worker_id=worker.user["id"] + 1)
    assert admin.post("/api/conflicts/resolve", json=missing).status_code == 404
    assert worker.get("/api/conflicts").status_code == 403


# ---------------------------------------------------------------------------------------------- lock date, quarantine

def test_lock_date_sends_records_before_it_to_quarantine_and_blocks_backfill(app, admin, worker, outage):
    gap = first_gap(worker)
    today = (datetime.fromisoformat(gap["deadline"]) - timedelta(hours=12)).date()
    response = admin.client.put("/api/units/1/lock-date", json={"lock_date": today.isoformat()}, headers=admin.headers)
    assert response.status_code == 200 and response.json["lock_date"] == today.isoformat()
    start = datetime.fromisoformat(gap["visit"]["planned_start"])
    pushed = post_registration(worker, gap["visit"], start, start + timedelta(minutes=20))
    assert {r["code"] for r in pushed.json["results"]} == {"before_lock_date"}
    blocked = admin.post("/api/backfills", json=backfill_body(gap, worker.user["id"]))
    assert blocked.status_code == 409 and blocked.json["code"] == "before_lock_date"
    records = admin.get("/api/quarantine").json["records"]
    assert {r["code"] for r in records} == {"before_lock_date"} and len(records) == len(pushed.json["results"])


def test_lock_date_input_and_scope(admin, admin2, worker):
    put = admin.client.put
    assert put("/api/units/1/lock-date", json={"lock_date": "31/12"}, headers=admin.headers).status_code == 422
    assert put("/api/units/1/lock-date", json={}, headers=admin.headers).status_code == 422
    assert put("/api/units/1/lock-date", json={"lock_date": "2026-01-01"}, headers=admin2.headers).status_code == 403
    assert put("/api/units/1/lock-date", json={"lock_date": "2026-01-01"}, headers=worker.headers).status_code == 403
    assert put("/api/units/1/lock-date", json={"lock_date": None}, headers=admin.headers).status_code == 200


def quarantined_visit_start(app, admin, worker, outage):
    """A post-registration rejected by the lock date, then the lock date lifted."""
    gap = first_gap(worker)
    today = (datetime.fromisoformat(gap["deadline"]) - timedelta(hours=12)).date()
    admin.client.put("/api/units/1/lock-date", json={"lock_date": today.isoformat()}, headers=admin.headers)
    start = datetime.fromisoformat(gap["visit"]["planned_start"])
    event = worker.event("visit_started", {"visit_id": gap["visit"]["id"], "at": iso(start), "adjust_reason": REASON,
                                           "post_registration": True})
    assert worker.push([event]).json["results"][0]["code"] == "before_lock_date"
    return gap, event


def test_a_quarantined_record_is_reapplied_after_the_checks_and_a_resend_is_a_duplicate(app, admin, worker, outage):
    gap, event = quarantined_visit_start(app, admin, worker, outage)
    still_locked = admin.post(f"/api/quarantine/{event['id']}/reapply", json={"note": "Försök"})
    assert still_locked.status_code == 409 and still_locked.json["code"] == "before_lock_date"
    admin.client.put("/api/units/1/lock-date", json={"lock_date": None}, headers=admin.headers)
    corrected_at = iso(datetime.fromisoformat(event["payload"]["at"]) + timedelta(minutes=3))
    done = admin.post(f"/api/quarantine/{event['id']}/reapply",
                      json={"payload": {"at": corrected_at}, "note": "Spärrdatum flyttat efter beslut"})
    assert done.status_code == 200 and done.json["state"] == "reapplied"
    with app.app_context():
        row = db.session.scalar(select(Event).where(Event.id == event["id"]))
        assert row.source == "device" and row.recorded_by == admin.user["id"]
        assert row.payload["at"].startswith(corrected_at[:16])
    assert worker.push([event]).json["results"][0]["status"] == "duplicate"
    assert admin.post(f"/api/quarantine/{event['id']}/reapply", json={"note": "igen"}).status_code == 409
    assert admin.get("/api/quarantine?state=reapplied").json["records"][0]["id"] == event["id"]


def test_quarantine_corrections_are_validated(app, admin, worker, outage):
    gap, event = quarantined_visit_start(app, admin, worker, outage)
    admin.client.put("/api/units/1/lock-date", json={"lock_date": None}, headers=admin.headers)
    bad = admin.post(f"/api/quarantine/{event['id']}/reapply", json={"payload": {"visit_id": "sju"}, "note": "rätt"})
    assert bad.status_code == 422 and "payload.visit_id" in bad.json["errors"]
    not_yours = admin.post(f"/api/quarantine/{event['id']}/reapply",
                           json={"payload": {"visit_id": 999999}, "note": "fel besök"})
    assert not_yours.status_code == 409 and not_yours.json["code"] == "unknown_visit"
    assert admin.post(f"/api/quarantine/{event['id']}/reapply", json={}).status_code == 422


def test_a_quarantined_record_is_dismissed_with_a_reason_and_scope_holds(app, admin, admin2, worker, outage):
    gap, event = quarantined_visit_start(app, admin, worker, outage)
    assert admin.post(f"/api/quarantine/{event['id']}/dismiss", json={}).status_code == 422
    assert admin2.post(f"/api/quarantine/{event['id']}/dismiss", json={"reason": "Inte vår"}).status_code == 403
    assert admin2.get("/api/quarantine").json["records"] == []
    assert worker.get("/api/quarantine").status_code == 403
    assert admin.post("/api/quarantine/nope/dismiss", json={"reason": "finns inte"}).status_code == 404
    done = admin.post(f"/api/quarantine/{event['id']}/dismiss", json={"reason": "Registrerat på papper, redan inlagt"})
    assert done.status_code == 200 and done.json["state"] == "dismissed"
    with app.app_context():
        q = db.session.get(QuarantinedEvent, event["id"])
        assert q.resolution_note.startswith("Registrerat") and q.resolved_by == admin.user["id"]
        assert db.session.get(Unit, 1) is not None and db.session.get(Visit, gap["visit"]["id"]) is not None
    assert admin.get("/api/quarantine?state=bogus").status_code == 422


def test_a_backfill_cannot_cite_another_units_outage(admin, admin2, worker, outage):
    south = declare(admin2, at(-1, 7), at(-1, 9))
    gap = first_gap(worker)
    response = admin.post("/api/backfills", json=backfill_body(gap, worker.user["id"], outage_id=south["id"]))
    assert response.status_code == 403
