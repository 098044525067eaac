"""Deviations (issue 30): an offline deviation reaches the manager's list and phone, its handling is recorded,
and no other unit sees any of it."""
import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AccessLog, Client, User
from server.notify.models import PushNotification
from server.notify.worker import run_once
from support.push_fixtures import push_app, push_service, subscribe  # noqa: F401


def ago(**delta):
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


def user_id(username):
    return db.session.scalar(select(User.id).where(User.username == username))


def name_nurse(app, client_id, username):
    """The person card names the responsible nurse as a user (the demo's cards name only a name and a phone)."""
    with app.app_context():
        client = db.session.get(Client, client_id)
        client.person_card = {**client.person_card, "responsible_nurse": {
            **client.person_card["responsible_nurse"], "username": username}}
        db.session.commit()


def report_fall_offline(worker, visit, text="Brukaren föll i badrummet, ingen synlig skada."):
    """A fall written on the phone two hours ago without network, pushed now."""
    event = worker.event("deviation_reported", {"category": "fall", "description": text,
                                                "client_id": visit["client_id"], "visit_id": visit["id"]},
                         occurred_at=ago(hours=2))
    response = worker.push([event])
    assert response.status_code == 200, response.json
    assert response.json["results"][0]["status"] == "applied"
    return event


@pytest.fixture
def visit(worker):
    return worker.package["visits"][0]


def test_an_offline_deviation_is_listed_for_the_manager_and_pushed_to_the_manager_and_the_nurse(
        push_app, subscribe, push_service, worker, visit):
    name_nurse(push_app, visit["client_id"], "worker2")
    manager_phone, nurse_phone, other_manager = subscribe("manager1"), subscribe("worker2"), subscribe("manager2")
    event = report_fall_offline(worker, visit)

    listing = manager_phone.session.get("/api/loop/deviations")
    assert listing.status_code == 200, listing.json
    [row] = listing.json["rows"]
    assert (row["event_id"], row["category"], row["category_label"]) == (event["id"], "fall", "Fall")
    assert row["description"] == "Brukaren föll i badrummet, ingen synlig skada."
    assert (row["client"]["id"], row["visit"]["id"], row["worker"]["username"]) == (
        visit["client_id"], visit["id"], "worker1")
    assert row["offline"] is True and row["status"] == "new"
    assert datetime.fromisoformat(row["reported_at"]) - datetime.fromisoformat(row["happened_at"]) > timedelta(hours=1)
    assert listing.json["counts"] == {"new": 1, "received": 0, "handled": 0}

    with push_app.app_context():
        client_name = db.session.get(Client, visit["client_id"]).name
        assert db.session.scalar(select(func.count()).select_from(PushNotification).where(
            PushNotification.kind == "deviation_reported")) == 2  # manager1 and the nurse, nobody else
        run_once(checks=False)
    for phone in (manager_phone, nurse_phone):
        [message] = [m["payload"] for m in push_service.messages_for(phone.subscriber)]
        assert message["kind"] == "deviation_reported" and message["title"] == "Ny avvikelse"
        assert message["url"] == "/admin/deviations.html"
        assert client_name not in str(message) and "badrummet" not in str(message)
    assert push_service.messages_for(other_manager.subscriber) == []


def test_a_resent_deviation_is_one_row_and_one_notification(app, worker, visit, manager):
    event = report_fall_offline(worker, visit)
    again = worker.push([event])
    assert again.json["results"][0]["status"] == "duplicate"
    assert len(manager.get("/api/loop/deviations").json["rows"]) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PushNotification)) == 1


def test_without_a_nurse_who_is_a_user_only_the_managers_are_told(app, worker, visit):
    report_fall_offline(worker, visit)
    with app.app_context():
        told = db.session.scalars(select(PushNotification.user_id)).all()
        assert told == [user_id("manager1")]


def test_status_goes_new_received_handled_with_who_when_and_comment_and_the_history_is_kept(
        app, worker, visit, manager, admin):
    report_fall_offline(worker, visit)
    [row] = manager.get("/api/loop/deviations").json["rows"]
    path = f"/api/loop/deviations/{row['id']}"

    received = manager.post(path + "/status", json={"status": "received"})
    assert received.status_code == 200, received.json
    assert received.json["status"] == "received" and received.json["status_by"]["id"] == manager.user["id"]

    no_comment = admin.post(path + "/status", json={"status": "handled"})
    assert no_comment.status_code == 422 and "comment" in no_comment.json["errors"]
    handled = admin.post(path + "/status", json={"status": "handled", "comment": "Fallrisk bedömd, larm bytt."})
    assert handled.status_code == 200, handled.json
    backwards = manager.post(path + "/status", json={"status": "received"})
    assert backwards.status_code == 409

    detail = manager.get(path).json
    assert detail["status"] == "handled" and detail["status_comment"] == "Fallrisk bedömd, larm bytt."
    assert [(h["from"], h["to"], h["by"]["id"], h["comment"]) for h in detail["history"]] == [
        ("new", "received", manager.user["id"], None),
        ("received", "handled", admin.user["id"], "Fallrisk bedömd, larm bytt.")]
    assert all(h["at"] for h in detail["history"])
    assert manager.get("/api/loop/deviations?status=handled").json["counts"]["handled"] == 1
    assert manager.get("/api/loop/deviations?status=new").json["rows"] == []


def test_another_units_manager_sees_nothing_of_it_and_the_attempt_is_logged(app, auth, worker, visit, manager):
    report_fall_offline(worker, visit)
    [row] = manager.get("/api/loop/deviations").json["rows"]
    other = auth.login("manager2")
    assert other.get("/api/loop/deviations").json["rows"] == []
    export = other.get("/api/loop/deviations.csv")
    assert export.status_code == 200 and "föll" not in export.get_data(as_text=True)
    assert other.get(f"/api/loop/deviations/{row['id']}").status_code == 403
    assert other.post(f"/api/loop/deviations/{row['id']}/status", json={"status": "received"}).status_code == 403
    assert other.get(f"/api/loop/deviations?client_id={visit['client_id']}").status_code == 403
    assert manager.get(f"/api/loop/deviations/{row['id']}").json["status"] == "new"
    with app.app_context():
        denied = db.session.scalars(select(AccessLog.action).where(AccessLog.user_id == other.user["id"],
                                                                   AccessLog.outcome == "denied")).all()
    assert len(denied) == 3


def test_every_opening_is_access_logged_per_client_shown(app, worker, visit, manager):
    report_fall_offline(worker, visit)
    [row] = manager.get("/api/loop/deviations").json["rows"]
    manager.get(f"/api/loop/deviations/{row['id']}")
    manager.get("/api/loop/deviations.csv")
    with app.app_context():
        logged = db.session.execute(select(AccessLog.action, AccessLog.client_id)
                                    .where(AccessLog.user_id == manager.user["id"])).all()
    assert {("deviations_list", visit["client_id"]), ("deviation_open", visit["client_id"]),
            ("deviations_export", visit["client_id"])} <= set(logged)


def test_filters_and_the_csv(app, worker, manager):
    first, second = worker.package["visits"][0], worker.package["visits"][1]
    report_fall_offline(worker, first)
    online = worker.event("deviation_reported", {"category": "medication", "description": "Dosetten saknades.",
                                                 "client_id": second["client_id"]})
    assert worker.push([online]).json["results"][0]["status"] == "applied"
    assert [r["category"] for r in manager.get("/api/loop/deviations?category=medication").json["rows"]] == [
        "medication"]
    assert [r["category"] for r in manager.get("/api/loop/deviations?offline=1").json["rows"]] == ["fall"]
    assert [r["category"] for r in manager.get("/api/loop/deviations?offline=0").json["rows"]] == ["medication"]
    assert manager.get("/api/loop/deviations?offline=2").status_code == 422
    assert manager.get("/api/loop/deviations?from=2026-13-01").status_code == 422
    response = manager.get("/api/loop/deviations.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Avvikelse-id", "Status", "Kategori"]
    assert sorted(r[2] for r in rows[1:]) == ["Fall", "Läkemedel"]
    assert {r[11] for r in rows[1:]} == {"ja", "nej"}


def test_a_deviation_naming_only_its_visit_is_the_visits_clients_and_tells_their_nurse(app, worker, visit, manager):
    name_nurse(app, visit["client_id"], "worker2")
    event = worker.event("deviation_reported", {"category": "injury", "description": "Skrubbsår på armen.",
                                                "visit_id": visit["id"]})
    assert worker.push([event]).json["results"][0]["status"] == "applied"
    [row] = manager.get("/api/loop/deviations").json["rows"]
    assert row["client"]["id"] == visit["client_id"] and row["offline"] is False
    with app.app_context():
        assert sorted(db.session.scalars(select(PushNotification.user_id))) == sorted(
            [user_id("manager1"), user_id("worker2")])
