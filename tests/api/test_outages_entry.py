"""Issue 27, items 10–13 and the outages part of 4: one gap per missed visit however many outages surround it,
outages entered afterwards in one request, words and times people act on, no unplanned outage in the future,
withdrawal of an outage registered by mistake, and bounded times and days on every endpoint of the area."""
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Device, User
from server.notify.kinds import KINDS, render
from server.notify.models import PushNotification
from server.outages.models import Gap, GapDecision, Outage

from tests.api.test_outages import STHLM, at, declare, iso, today, unplanned, user_id, visits_of  # noqa: F401

ANNOUNCING = ("outage_announced", "outage_announced_open", "outage_started", "outage_ended")


def pushes(app, *kinds):
    """(kind, username, params) of every notification in the outbox, optionally of these kinds only."""
    with app.app_context():
        query = select(PushNotification.kind, User.username, PushNotification.params).join(
            User, User.id == PushNotification.user_id)
        if kinds:
            query = query.where(PushNotification.kind.in_(kinds))
        return [tuple(row) for row in db.session.execute(query)]


def texts(app, kind):
    """The Swedish title and body of the first notification of this kind, as the phone shows them."""
    with app.app_context():
        row = db.session.scalars(select(PushNotification).where(PushNotification.kind == kind)).first()
        title, body, _, _ = render(KINDS[kind], row.params, "Europe/Stockholm", datetime.now(timezone.utc))
        return f"{title}: {body}"


def all_open_gaps(session):
    return session.get("/api/backfill-queue?route=all").json["gaps"]


# ---------------------------------------------------------------------------------------------- 10: overlap

def test_an_outage_overlapping_one_of_the_same_unit_is_refused_naming_it(admin):
    first = declare(admin, at(-1, 7), at(-1, 12))
    second = admin.post("/api/outages", json=unplanned(at(-1, 9), at(-1, 13)))
    assert second.status_code == 409 and second.json["code"] == "outage_overlaps"
    assert f"nr {first['id']}" in second.json["message"] and "started_at" in second.json["errors"]
    planned = admin.post("/api/outages", json={"kind": "planned", "started_at": iso(at(-1, 11)),
                                               "ended_at": iso(at(-1, 12, 30))})
    assert planned.status_code == 409
    later = declare(admin, at(-1, 13), at(-1, 14))  # after the first ended: fine
    moved = admin.client.patch(f"/api/outages/{later['id']}", json={"started_at": iso(at(-1, 11))},
                               headers=admin.headers)
    assert moved.status_code == 409 and moved.json["code"] == "outage_overlaps"


def test_a_second_outage_from_now_while_one_is_running_is_refused(admin):
    declare(admin, datetime.now(timezone.utc) - timedelta(hours=2))
    again = admin.post("/api/outages", json=unplanned(datetime.now(timezone.utc)))
    assert again.status_code == 409 and again.json["code"] == "outage_overlaps"


def test_a_visit_two_outages_hold_is_one_gap_one_queue_row_and_one_hand_over_push(app, admin, auth):
    early = declare(admin, at(-1, 7), at(-1, 8, 40))
    late = declare(admin, at(-1, 8, 40), at(-1, 10))  # back to back: the 08:30 visits lie in both
    shared = visits_of(app, "worker1", at(-1, 8, 30), at(-1, 8, 31))
    assert shared
    queue = all_open_gaps(admin)
    keys = [(g["visit"]["id"], g["worker"]["id"]) for g in queue]
    assert len(keys) == len(set(keys))
    assert {g["outage_id"] for g in queue if g["visit"]["id"] in shared} == {early["id"]}
    worker = auth.login("worker1")
    mine = [g["visit"]["id"] for g in worker.get("/api/me/gaps").json["gaps"] if g["state"] == "open"]
    assert len(mine) == len(set(mine)) and set(shared) <= set(mine)
    held = admin.get(f"/api/outages/{late['id']}/gaps").json["gaps"]
    assert all(g["state"] == "closed" for g in held if g["visit"]["id"] in shared)
    worker.push([worker.event("gap_handed_over", {"visit_id": shared[0]})])
    escalated = [p for p in pushes(app, "gap_escalated") if p[1] == "admin1"]
    assert escalated == [("gap_escalated", "admin1", {"count": 1})]


def test_outages_that_overlap_already_in_the_database_still_make_one_gap_per_visit(app, admin):
    """Rows stored before overlaps were refused (or a planned outage beginning while an unplanned one runs)."""
    first = declare(admin, at(-1, 7), at(-1, 12))
    with app.app_context():
        twin = Outage(kind="unplanned", status="confirmed", title="Samma driftstopp igen", started_at=at(-1, 7),
                      ended_at=at(-1, 12), reporter_name="Fiktiv Anmälare")
        twin.units = db.session.get(Outage, first["id"]).units
        db.session.add(twin)
        db.session.commit()
    queue = all_open_gaps(admin)
    keys = [(g["visit"]["id"], g["worker"]["id"]) for g in queue]
    assert keys and len(keys) == len(set(keys))
    assert {g["outage_id"] for g in queue} == {first["id"]}


def test_withdrawing_the_earlier_of_two_outages_hands_its_shared_visits_to_the_other(app, admin):
    early = declare(admin, at(-1, 7), at(-1, 8, 40))
    late = declare(admin, at(-1, 8, 40), at(-1, 10))
    shared = set(visits_of(app, "worker1", at(-1, 8, 30), at(-1, 8, 31)))
    assert admin.post(f"/api/outages/{early['id']}/withdraw", json={"reason": "Dubbelregistrerat"}).status_code == 200
    queue = all_open_gaps(admin)
    assert {g["outage_id"] for g in queue if g["visit"]["id"] in shared} == {late["id"]}
    keys = [(g["visit"]["id"], g["worker"]["id"]) for g in queue]
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------------------------------------- 11: afterwards

@pytest.mark.parametrize("kind", ["planned", "unplanned"])
def test_an_outage_entered_afterwards_is_one_request_evaluated_once_as_ended_without_announcements(app, admin,
                                                                                                   kind):
    body = unplanned(at(-1, 7), at(-1, 10)) if kind == "unplanned" else \
        {"kind": "planned", "title": "Uppgradering (efterregistrerad)", "started_at": iso(at(-1, 7)),
         "ended_at": iso(at(-1, 10))}
    response = admin.post("/api/outages", json=body)
    assert response.status_code == 201, response.json
    outage = response.json
    assert outage["ongoing"] is False and outage["elapsed_minutes"] == 180 and outage["short_notice"] is None
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps").json["gaps"]
    inside = set(visits_of(app, "worker1", at(-1, 7), at(-1, 10)))
    assert inside and {g["visit"]["id"] for g in gaps if g["worker"]["id"] == user_id(app, "worker1")} == inside
    assert all(datetime.fromisoformat(g["visit"]["planned_start"]) < at(-1, 10) for g in gaps)
    assert all(g["state"] == "open" and g["deadline"] is not None for g in gaps)
    with app.app_context():
        history = db.session.execute(select(GapDecision.gap_id, GapDecision.trigger, GapDecision.inputs)
                                     .join(Gap, Gap.id == GapDecision.gap_id)
                                     .where(Gap.outage_id == outage["id"])).all()
    assert len(history) == len(gaps)  # one decision per gap: evaluated once
    assert {trigger for _, trigger, _ in history} == {"declared"}
    assert all(inputs["ongoing"] is False and inputs["ended_at"] for _, _, inputs in history)
    assert pushes(app, *ANNOUNCING) == []


def test_a_planned_outage_entered_while_it_runs_says_it_is_running_not_coming(app, admin):
    response = admin.post("/api/outages", json={"kind": "planned",
                                                "started_at": iso(datetime.now(timezone.utc) - timedelta(hours=1))})
    assert response.status_code == 201 and response.json["ongoing"] is True
    assert {kind for kind, _, _ in pushes(app, *ANNOUNCING)} == {"outage_started"}


def test_an_end_in_the_future_at_entry_is_the_expected_end_not_the_end(admin):
    start = datetime.now(timezone.utc) + timedelta(days=1)
    response = admin.post("/api/outages", json={"kind": "planned", "started_at": iso(start),
                                                "ended_at": iso(start + timedelta(hours=2))})
    assert response.status_code == 422 and "ended_at" in response.json["errors"]


# ---------------------------------------------------------------------------------------------- 12: words and times

def test_a_policy_deadline_with_a_time_of_day_is_explained_with_the_time(admin, manager):
    outage = declare(admin, at(-1, 6), at(-1, 17))
    deadline = datetime.combine(today() + timedelta(days=1), time(16, 0), STHLM)
    decided = manager.post(f"/api/outages/{outage['id']}/policy",
                           json={"route": "self", "deadline": deadline.isoformat()})
    assert decided.status_code == 200, decided.json
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps?route=self").json["gaps"]
    assert gaps and all("kl. 16:00" in g["explanation"] and "at 16:00" in g["explanation_en"] for g in gaps)


def test_the_threshold_notice_for_an_outage_already_over_says_it_lasted_not_that_it_is_running(app, admin):
    declare(admin, at(-1, 6), at(-1, 17))  # 11 h, entered afterwards
    assert {(k, u) for k, u, _ in pushes(app, "threshold_crossed", "threshold_passed_ended")} == \
        {("threshold_passed_ended", "manager1")}
    said = texts(app, "threshold_passed_ended")
    assert "pågående" not in said and "nu är över" in said and "Driftstopp längre än 10 timmar" in said


def test_a_running_outage_crossing_the_threshold_is_still_called_running(app, admin, manager):
    declare(admin, datetime.now(timezone.utc) - timedelta(hours=10, minutes=30))
    manager.get("/api/outages")
    assert "pågående driftstopp" in texts(app, "threshold_crossed")


def test_a_planned_outage_without_an_expected_end_says_the_end_is_not_known(app, admin):
    start = datetime.combine(today() + timedelta(days=1), time(9, 0), STHLM)
    response = admin.post("/api/outages", json={"kind": "planned", "started_at": start.isoformat()})
    assert response.status_code == 201
    assert {kind for kind, _, _ in pushes(app, *ANNOUNCING)} == {"outage_announced_open"}
    said = texts(app, "outage_announced_open")
    assert "i morgon 09:00" in said and "sluttiden är inte känd" in said
    assert "09:00 – " not in said


# ---------------------------------------------------------------------------------------------- 13: future, withdraw

def test_an_unplanned_outage_starting_in_the_future_is_refused_and_nobody_is_told(app, admin):
    response = admin.post("/api/outages", json=unplanned(datetime.now(timezone.utc) + timedelta(hours=3)))
    assert response.status_code == 422 and "started_at" in response.json["errors"]
    assert "planerat" in response.json["message"]
    assert pushes(app) == []
    with app.app_context():
        assert db.session.scalar(select(Outage.id)) is None
    running = declare(admin, at(-1, 7), at(-1, 9))
    moved = admin.client.patch(f"/api/outages/{running['id']}",
                               json={"started_at": iso(datetime.now(timezone.utc) + timedelta(days=1))},
                               headers=admin.headers)
    assert moved.status_code == 422 and "started_at" in moved.json["errors"]


def test_an_outage_registered_by_mistake_is_withdrawn_with_who_when_why_and_its_gaps_closed(app, admin, auth):
    outage = declare(admin, at(-1, 7), at(-1, 12))
    assert all_open_gaps(admin)
    response = admin.post(f"/api/outages/{outage['id']}/withdraw", json={"reason": "Fel enhet, inget driftstopp"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "withdrawn" and body["withdrawn_by"] == user_id(app, "admin1")
    assert body["withdrawn_reason"] == "Fel enhet, inget driftstopp" and body["withdrawn_at"]
    assert body["gap_counts"] == {"self": 0, "admin": 0, "decision": 0}
    assert all_open_gaps(admin) == []
    assert [g for g in auth.login("worker1").get("/api/me/gaps").json["gaps"] if g["state"] == "open"] == []
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps").json["gaps"]
    assert gaps and all(g["state"] == "closed" and g["rule"] == "outage_withdrawn" for g in gaps)
    detail = admin.get(f"/api/gaps/{gaps[0]['id']}").json
    assert [h["trigger"] for h in detail["history"]] == ["declared", "outage_withdrawn"]
    assert "Fel enhet, inget driftstopp" in detail["history"][-1]["explanation"]
    listed = admin.get("/api/outages?status=withdrawn").json["outages"]
    assert [o["id"] for o in listed] == [outage["id"]]  # kept, not deleted
    again = admin.post(f"/api/outages/{outage['id']}/withdraw", json={"reason": "igen"})
    assert again.status_code == 409
    assert admin.client.patch(f"/api/outages/{outage['id']}", json={"title": "x"},
                              headers=admin.headers).status_code == 409
    assert pushes(app, "outage_withdrawn") == []  # it was over: nobody had been told it was coming or running


def test_withdrawing_a_running_outage_tells_staff_it_was_a_mistake(app, admin):
    outage = declare(admin, datetime.now(timezone.utc) - timedelta(minutes=30))
    admin.post(f"/api/outages/{outage['id']}/withdraw", json={"reason": "Testlarm, inget driftstopp"})
    told = {u for _, u, _ in pushes(app, "outage_withdrawn")}
    assert "worker1" in told and "worker7" not in told


@pytest.mark.parametrize("username,body,status", [
    ("manager1", {"reason": "Fel"}, 403), ("worker1", {"reason": "Fel"}, 403), ("admin2", {"reason": "Fel"}, 403),
    ("admin1", {}, 422), ("admin1", {"reason": "x\u0000y"}, 422),
])
def test_only_the_units_administrators_withdraw_and_they_say_why(auth, admin, username, body, status):
    outage = declare(admin, at(-1, 7), at(-1, 9))
    response = auth.login(username).post(f"/api/outages/{outage['id']}/withdraw", json=body)
    assert response.status_code == status, response.json


# ---------------------------------------------------------------------------------------------- 4: bounded input

ABSURD = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00+00:00"]


@pytest.mark.parametrize("value", ABSURD)
@pytest.mark.parametrize("field", ["started_at", "ended_at", "expected_end"])
def test_absurd_outage_times_are_422_naming_the_field(admin, field, value):
    body = unplanned(at(-1, 7), at(-1, 9))
    body[field] = value
    response = admin.post("/api/outages", json=body)
    assert response.status_code == 422 and field in response.json["errors"], response.json


@pytest.mark.parametrize("value", ABSURD + ["2099-06-01T12:00:00+02:00"])
def test_an_absurd_policy_deadline_is_422_naming_it(admin, manager, value):
    outage = declare(admin, at(-1, 6), at(-1, 17))
    response = manager.post(f"/api/outages/{outage['id']}/policy", json={"route": "self", "deadline": value})
    assert response.status_code == 422 and "deadline" in response.json["errors"], response.json


@pytest.mark.parametrize("value", ABSURD)
def test_absurd_backfill_times_are_422_naming_the_field(app, admin, value):
    [visit] = visits_of(app, "worker1", at(-1, 7, 30), at(-1, 7, 31))
    response = admin.post("/api/backfills", json={"visit_id": visit, "worker_id": user_id(app, "worker1"),
                                                  "started_at": value, "information_source": "paper_form"})
    assert response.status_code == 422 and "started_at" in response.json["errors"], response.json


@pytest.mark.parametrize("path,body,field", [
    ("/api/absences", {"worker_id": 0, "from": "9999-12-31"}, "from"),
    ("/api/absences", {"worker_id": 0, "from": "2026-01-01", "to": "0001-01-01"}, "to"),
    ("/api/units/1/lock-date", {"lock_date": "9999-12-31"}, "lock_date"),
    ("/api/units/1/lock-date", {"lock_date": "0001-01-01"}, "lock_date"),
])
def test_absurd_days_are_422_naming_the_field(app, admin, path, body, field):
    body = {**body, "worker_id": user_id(app, "worker1")} if "worker_id" in body else body
    send = admin.post if path == "/api/absences" else \
        (lambda p, json: admin.client.put(p, json=json, headers=admin.headers))
    response = send(path, json=body)
    assert response.status_code == 422 and field in response.json["errors"], response.json


@pytest.mark.parametrize("query,field", [
    ("/api/absences?from=9999-12-31", "from"), ("/api/absences?to=0001-01-01", "to"),
    ("/api/backfill-queue?outage_id=2147483648", "outage_id"), ("/api/backfill-queue?worker_id=%C2%B2", "worker_id"),
    ("/api/backfill-queue?outage_id=9223372036854775808", "outage_id"), ("/api/quarantine?code=%00", "code"),
    ("/api/conflicts?state=maybe", "state"), ("/api/outages?status=%00", "status"),
])
def test_bad_query_values_are_422_naming_the_parameter(admin, query, field):
    response = admin.get(query)
    assert response.status_code == 422 and field in response.json["errors"], response.json


@pytest.mark.parametrize("reported", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "inte en tid",
                                      "2026-02-10T07:00:00"])
def test_a_stored_device_status_time_never_breaks_the_outage_list(app, auth, admin, reported):
    for username in ("worker1", "worker2"):
        s = auth.login(username)
        body = s.push_body([])
        body["status"].update({"failed_syncs": 5, "last_failed_sync_at": iso(datetime.now(timezone.utc))})
        assert s.client.post("/api/sync/push", json=body, headers=s.headers).status_code == 200
    with app.app_context():
        for device in db.session.scalars(select(Device)):
            device.status_extra = {**(device.status_extra or {}), "last_failed_sync_at": reported}
            device.status_oldest_pending_at = datetime(2000, 1, 1, tzinfo=timezone.utc)
        db.session.commit()
    for path in ("/api/outages", "/api/outages?status=proposed"):
        response = admin.get(path)
        assert response.status_code == 200, response.json
        assert response.json["outages"] == []  # absurd times are no evidence of an outage


@pytest.mark.parametrize("value", ABSURD + ["2026-02-10T07:00:00\u0000"])
def test_an_absurd_time_in_a_corrected_quarantined_record_is_422_naming_it(app, admin, auth, value):
    from tests.api.test_outages_backfill import quarantined_visit_start
    worker = auth.login("worker1")
    outage = declare(admin, at(-1, 7), at(-1, 12))
    _, event = quarantined_visit_start(app, admin, worker, outage)
    response = admin.post(f"/api/quarantine/{event['id']}/reapply",
                          json={"occurred_at": value, "payload": {"at": value}, "note": "Rättad tid"})
    assert response.status_code == 422 and "occurred_at" in response.json["errors"], response.json
