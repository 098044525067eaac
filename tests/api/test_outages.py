"""Outages API: declare, update, end, gaps and their routes, manager policy, proposals from evidence — with bad
input and cross-unit access for every endpoint."""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import User, Visit, visit_workers
from server.outages import evidence
from server.outages.models import Gap, GapDecision, Outage

STHLM = ZoneInfo("Europe/Stockholm")


def today():
    return datetime.now(STHLM).date()


def at(day_offset, hour, minute=0):
    """A local time `day_offset` days from today, as an aware UTC datetime."""
    return datetime.combine(today() + timedelta(days=day_offset), time(hour, minute), STHLM).astimezone(timezone.utc)


def iso(moment):
    return moment.isoformat()


def end_of_today_utc():
    return datetime.combine(today() + timedelta(days=1), time(0), STHLM).astimezone(timezone.utc)


def user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def visits_of(app, username, start, end):
    with app.app_context():
        uid = user_id(app, username)
        return db.session.scalars(select(Visit.id).join(visit_workers, visit_workers.c.visit_id == Visit.id)
                                  .where(visit_workers.c.worker_id == uid, Visit.planned_start >= start,
                                         Visit.planned_start < end).order_by(Visit.planned_start)).all()


def unplanned(start, end=None, **extra):
    body = {"kind": "unplanned", "started_at": iso(start), "reporter_name": "Fiktiv Anmälare",
            "fault_type": "technical", "discovered_by_unit_id": 1, **extra}
    if end is not None:
        body["ended_at"] = iso(end)
    return body


def patch(session, path, json):
    return session.client.patch(path, json=json, headers=session.headers)


def declare(admin, start, end=None, **extra):
    response = admin.post("/api/outages", json=unplanned(start, end, **extra))
    assert response.status_code == 201, response.json
    return response.json


# ---------------------------------------------------------------------------------------------- declare & gaps

def test_a_short_outage_yesterday_routes_each_missed_visit_to_its_worker_by_end_of_today(app, admin, worker):
    outage = declare(admin, at(-1, 7), at(-1, 12))
    assert outage["ongoing"] is False and outage["long"] is False and outage["elapsed_minutes"] == 300
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps").json["gaps"]
    mine = [g for g in gaps if g["worker"]["id"] == worker.user["id"]]
    assert {g["visit"]["id"] for g in mine} == set(visits_of(app, "worker1", at(-1, 7), at(-1, 12)))
    assert all(g["route"] == "self" and g["rule"] == "short_outage_self" for g in gaps)
    assert all(g["deadline"] == end_of_today_utc().isoformat() for g in gaps)
    assert all(g["deadline_day"] == today().isoformat() for g in gaps)
    assert "5 timmar" in gaps[0]["explanation"] and "senast" in gaps[0]["explanation"]
    assert outage["gap_counts"] == {"self": len(gaps), "admin": 0, "decision": 0}


def test_only_the_outage_units_get_gaps(app, admin, admin2):
    outage = declare(admin, at(-1, 7), at(-1, 9))
    with app.app_context():
        units = set(db.session.scalars(select(Gap.unit_id).where(Gap.outage_id == outage["id"])))
    assert units == {1}


@pytest.mark.parametrize("username,status", [("worker1", 403), ("manager1", 403)])
def test_only_administrators_declare_outages(auth, username, status):
    s = auth.login(username)
    assert s.post("/api/outages", json=unplanned(at(-1, 7), at(-1, 9))).status_code == status


def test_declaring_needs_a_login(client):
    response = client.post("/api/outages", json=unplanned(at(-1, 7), at(-1, 9)))
    assert response.status_code == 401 and response.json["code"] == "token_missing"


@pytest.mark.parametrize("change,field", [
    (lambda b: b.pop("started_at"), "started_at"),
    (lambda b: b.update(kind="sometimes"), "kind"),
    (lambda b: b.update(started_at="yesterday"), "started_at"),
    (lambda b: b.update(started_at="2026-02-10T07:00:00"), "started_at"),  # no offset
    (lambda b: b.pop("reporter_name"), "reporter_name"),
    (lambda b: b.update(fault_type="gremlins"), "fault_type"),
    (lambda b: b.update(colour="red"), "colour"),
    (lambda b: b.update(unit_ids=[]), "unit_ids"),
    (lambda b: b.update(announced_policy={"route": "admin"}), "announced_policy"),
    (lambda b: b.update(ended_at=iso(at(-1, 6))), "ended_at"),
])
def test_bad_outage_input_is_422_with_the_field_named(admin, change, field):
    body = unplanned(at(-1, 7), at(-1, 9))
    change(body)
    response = admin.post("/api/outages", json=body)
    assert response.status_code == 422, response.json
    assert any(key.startswith(field) for key in response.json["errors"]), response.json


def test_not_json_is_400(admin):
    response = admin.client.post("/api/outages", data="x", headers=admin.headers)
    assert response.status_code == 400 and response.json["code"] == "invalid_json"


def test_an_administrator_cannot_declare_for_another_unit(admin):
    response = admin.post("/api/outages", json=unplanned(at(-1, 7), at(-1, 9), unit_ids=[2]))
    assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_an_unknown_unit_is_422(admin):
    response = admin.post("/api/outages", json=unplanned(at(-1, 7), at(-1, 9), unit_ids=[99]))
    assert response.status_code == 422 and "unit_ids" in response.json["errors"]


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/outages/{id}", None),
    ("get", "/api/outages/{id}/gaps", None),
    ("patch", "/api/outages/{id}", {"title": "x"}),
    ("post", "/api/outages/{id}/end", {}),
    ("post", "/api/outages/{id}/confirm", {}),
    ("post", "/api/outages/{id}/dismiss", {"reason": "inte vår"}),
])
def test_another_units_outage_is_403_and_a_missing_one_404(admin, admin2, method, path, body):
    outage = declare(admin, at(-1, 7))
    for session, oid, status in ((admin2, outage["id"], 403), (admin, 999999, 404)):
        kwargs = {"headers": session.headers} if body is None else {"json": body, "headers": session.headers}
        response = getattr(session.client, method)(path.format(id=oid), **kwargs)
        assert response.status_code == status, (path, response.json)


def test_listing_shows_only_own_units_outages(admin, admin2):
    declare(admin, at(-1, 7), at(-1, 9))
    assert len(admin.get("/api/outages").json["outages"]) == 1
    assert admin2.get("/api/outages").json["outages"] == []
    assert admin.get("/api/outages?status=maybe").status_code == 422
    assert admin.get("/api/outages?needs_decision=perhaps").status_code == 422


# ---------------------------------------------------------------------------------------------- end, extend

def test_ending_an_ongoing_outage_sets_the_deadlines_and_tells_staff(app, admin):
    outage = declare(admin, datetime.now(timezone.utc) - timedelta(hours=3))
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps").json["gaps"]
    assert all(g["deadline"] is None and g["rule"] == "short_outage_ongoing" for g in gaps)
    ended = admin.post(f"/api/outages/{outage['id']}/end", json={})
    assert ended.status_code == 200 and ended.json["ongoing"] is False
    again = admin.post(f"/api/outages/{outage['id']}/end", json={})
    assert again.status_code == 409 and again.json["code"] == "outage_already_ended"
    with app.app_context():
        from server.notify.models import PushNotification
        kinds = set(db.session.scalars(select(PushNotification.kind)))
    assert {"outage_started", "outage_ended"} <= kinds


def test_an_end_in_the_future_or_before_the_start_is_422(admin):
    outage = declare(admin, at(-1, 7))
    future = admin.post(f"/api/outages/{outage['id']}/end",
                        json={"ended_at": iso(datetime.now(timezone.utc) + timedelta(hours=2))})
    before = admin.post(f"/api/outages/{outage['id']}/end", json={"ended_at": iso(at(-1, 6))})
    assert future.status_code == 422 and before.status_code == 422


def test_extending_an_outage_past_the_threshold_sends_its_gaps_to_management(app, admin, manager):
    outage = declare(admin, at(-1, 6), at(-1, 12))
    extended = patch(admin, f"/api/outages/{outage['id']}", {"ended_at": iso(at(-1, 16, 30))})
    assert extended.status_code == 200 and extended.json["long"] and extended.json["needs_decision"]
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps?route=decision").json["gaps"]
    assert gaps and all(g["rule"] == "long_outage_needs_decision" and g["deadline"] is None for g in gaps)
    waiting = manager.get("/api/outages?needs_decision=1").json["outages"]
    assert [o["id"] for o in waiting] == [outage["id"]]
    with app.app_context():
        history = db.session.scalars(select(GapDecision.rule).join(Gap, Gap.id == GapDecision.gap_id)
                                     .where(Gap.id == gaps[0]["id"]).order_by(GapDecision.id)).all()
    assert history == ["short_outage_self", "long_outage_needs_decision"]


def test_bad_patches_are_422(admin):
    outage = declare(admin, at(-1, 7), at(-1, 9))
    assert patch(admin, f"/api/outages/{outage['id']}", {}).status_code == 422
    assert patch(admin, f"/api/outages/{outage['id']}", {"ended_at": iso(at(-1, 5))}).status_code == 422
    assert patch(admin, f"/api/outages/{outage['id']}", {"announced_policy": {"route": "admin"}}).status_code == 422
    assert patch(admin, f"/api/outages/{outage['id']}", {"unit_ids": [2]}).status_code == 403


# ---------------------------------------------------------------------------------------------- manager policy

def test_a_manager_decides_a_long_outage_and_everyone_affected_sees_the_result(app, admin, manager, worker):
    outage = declare(admin, at(-1, 6), at(-1, 17))
    decided = manager.post(f"/api/outages/{outage['id']}/policy",
                           json={"route": "admin", "note": "Administratörerna tar allt från pappersblanketterna"})
    assert decided.status_code == 200 and decided.json["needs_decision"] is False
    assert decided.json["decided_policy"]["route"] == "admin"
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps").json["gaps"]
    assert gaps and all(g["route"] == "admin" and g["rule"] == "management_policy" for g in gaps)
    queue = admin.get("/api/backfill-queue").json["gaps"]
    assert {g["id"] for g in queue} >= {g["id"] for g in gaps}
    mine = worker.get("/api/me/gaps").json["gaps"]
    assert mine and all(g["route"] == "admin" and "pappersblanketterna" in g["explanation"] for g in mine)


def test_a_manager_can_let_staff_register_long_outages_by_a_later_deadline(admin, manager):
    outage = declare(admin, at(-1, 6), at(-1, 17))
    deadline = at(3, 0)
    decided = manager.post(f"/api/outages/{outage['id']}/policy", json={"route": "self", "deadline": iso(deadline)})
    assert decided.status_code == 200
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps").json["gaps"]
    assert all(g["route"] == "self" and g["deadline"] == deadline.isoformat() for g in gaps)


@pytest.mark.parametrize("body,status", [
    ({"route": "decision"}, 422), ({"route": "self", "deadline": "2020-01-01T00:00:00+00:00"}, 422),
    ({}, 422), ({"route": "admin", "extra": 1}, 422),
])
def test_bad_policies_are_rejected(admin, manager, body, status):
    outage = declare(admin, at(-1, 6), at(-1, 17))
    assert manager.post(f"/api/outages/{outage['id']}/policy", json=body).status_code == status


def test_only_the_units_managers_decide(auth, admin):
    outage = declare(admin, at(-1, 6), at(-1, 17))
    for username, status in (("admin1", 403), ("worker1", 403), ("manager2", 403)):
        response = auth.login(username).post(f"/api/outages/{outage['id']}/policy", json={"route": "admin"})
        assert response.status_code == status, username


def test_an_ongoing_outage_crossing_the_threshold_notifies_the_managers_once(app, admin, manager):
    outage = declare(admin, datetime.now(timezone.utc) - timedelta(hours=10, minutes=30))
    assert manager.get("/api/outages?needs_decision=1").json["outages"][0]["id"] == outage["id"]
    admin.get(f"/api/outages/{outage['id']}/gaps")
    with app.app_context():
        from server.notify.models import PushNotification
        rows = db.session.scalars(select(PushNotification).where(PushNotification.kind == "threshold_crossed")).all()
        managers = {user_id(app, "manager1")}
    assert {r.user_id for r in rows} == managers and len(rows) == 1


def test_a_standing_unit_policy_replaces_the_wait(admin, manager, auth):
    bad = manager.client.put("/api/units/1/outage-rules", json={"threshold_minutes": 0}, headers=manager.headers)
    assert bad.status_code == 422
    other = manager.client.put("/api/units/2/outage-rules", json={"threshold_minutes": 300}, headers=manager.headers)
    assert other.status_code == 403
    as_admin = admin.client.put("/api/units/1/outage-rules", json={"threshold_minutes": 300}, headers=admin.headers)
    assert as_admin.status_code == 403
    ok = manager.client.put("/api/units/1/outage-rules", json={"long_outage_policy": {"route": "admin"}},
                            headers=manager.headers)
    assert ok.status_code == 200 and ok.json["effective"]["long_outage_policy"]["route"] == "admin"
    outage = declare(admin, at(-1, 6), at(-1, 17))
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps").json["gaps"]
    assert all(g["rule"] == "long_outage_standing_policy" and g["route"] == "admin" for g in gaps)


def test_a_unit_threshold_override_applies_to_that_unit(admin, manager):
    manager.client.put("/api/units/1/outage-rules", json={"threshold_minutes": 240}, headers=manager.headers)
    outage = declare(admin, at(-1, 7), at(-1, 12))
    assert outage["long"] and outage["threshold_minutes"] == 240
    settings = admin.get("/api/units/1/outage-settings").json
    assert settings["effective"]["threshold_minutes"] == 240 and settings["overrides"] == {"threshold_minutes": 240}
    assert admin.get("/api/units/2/outage-settings").status_code == 403
    assert admin.get("/api/units/99/outage-settings").status_code == 404


# ---------------------------------------------------------------------------------------------- planned

def test_a_planned_outage_is_announced_and_its_policy_wins(app, admin, worker):
    start = datetime.now(timezone.utc) + timedelta(days=2)
    response = admin.post("/api/outages", json={"kind": "planned", "started_at": iso(start),
                                                "expected_end": iso(start + timedelta(hours=3)),
                                                "title": "Versionsuppgradering", "fault_type": "upgrade",
                                                "announced_policy": {"route": "admin"}})
    assert response.status_code == 201, response.json
    assert response.json["short_notice"] is True  # fewer than the routine's seven days ahead
    with app.app_context():
        from server.notify.models import PushNotification
        announced = db.session.scalars(select(PushNotification.user_id)
                                       .where(PushNotification.kind == "outage_announced")).all()
    assert user_id(app, "worker1") in announced and user_id(app, "worker7") not in announced
    planned_with_end = admin.post("/api/outages", json={"kind": "planned", "started_at": iso(start),
                                                        "ended_at": iso(start + timedelta(hours=1))})
    assert planned_with_end.status_code == 422


def test_a_planned_outage_without_policy_is_registered_by_staff(admin):
    response = admin.post("/api/outages", json={"kind": "planned", "started_at": iso(at(-1, 6)),
                                                "expected_end": iso(at(-1, 19))})
    outage = response.json
    admin.post(f"/api/outages/{outage['id']}/end", json={"ended_at": iso(at(-1, 19))})
    gaps = admin.get(f"/api/outages/{outage['id']}/gaps?state=open").json["gaps"]
    assert gaps and all(g["route"] == "self" and g["rule"] == "planned_self" for g in gaps)
    # While it ran on into today, today's visits were gaps too; ending it yesterday evening closed them.
    closed = admin.get(f"/api/outages/{outage['id']}/gaps?state=closed").json["gaps"]
    assert all(g["rule"] == "outside_window" for g in closed)


# ---------------------------------------------------------------------------------------------- proposals

def test_a_heartbeat_gap_becomes_a_proposal_to_confirm(app, admin):
    with app.app_context():
        evidence.heartbeat(datetime.now(timezone.utc) - timedelta(hours=3))
        proposal = evidence.heartbeat(datetime.now(timezone.utc) - timedelta(hours=1))
        assert evidence.heartbeat(datetime.now(timezone.utc) - timedelta(minutes=59)) is None
        db.session.commit()
        pid = proposal.id
    listed = admin.get("/api/outages?status=proposed").json["outages"]
    assert pid in [o["id"] for o in listed]
    item = next(o for o in listed if o["id"] == pid)
    assert item["evidence"]["kind"] == "server_heartbeat_gap" and item["gap_counts"]["self"] == 0
    confirmed = admin.post(f"/api/outages/{pid}/confirm", json={})
    assert confirmed.status_code == 200 and confirmed.json["status"] == "confirmed"
    assert admin.post(f"/api/outages/{pid}/confirm", json={}).status_code == 409


def test_a_short_silence_is_no_proposal(app):
    with app.app_context():
        evidence.heartbeat(datetime.now(timezone.utc) - timedelta(minutes=2))
        assert evidence.heartbeat(datetime.now(timezone.utc)) is None


def test_several_devices_failing_to_sync_together_become_a_proposal(app, auth, admin):
    a, b = auth.login("worker1"), auth.login("worker2")
    first = datetime.now(timezone.utc) - timedelta(hours=3)
    for s, offset in ((a, 0), (b, 10)):
        body = s.push_body([], pending=3)  # three records have waited since `first`
        body["status"].update({"failed_syncs": 5, "oldest_pending_at": iso(first + timedelta(minutes=offset)),
                               "last_failed_sync_at": iso(first + timedelta(hours=2))})
        assert s.client.post("/api/sync/push", json=body, headers=s.headers).status_code == 200
    proposals = admin.get("/api/outages?status=proposed").json["outages"]
    assert len(proposals) == 1 and proposals[0]["evidence"] == {"kind": "device_failed_syncs", "devices": 2}
    dismissed = admin.post(f"/api/outages/{proposals[0]['id']}/dismiss", json={"reason": "Lokalt nätfel i källaren"})
    assert dismissed.status_code == 200 and dismissed.json["status"] == "dismissed"
    assert admin.get("/api/outages?status=proposed").json["outages"] == []  # not proposed again
    assert admin.post(f"/api/outages/{proposals[0]['id']}/dismiss", json={"reason": "x"}).status_code == 422


def test_one_device_failing_alone_is_no_proposal(auth, admin):
    a = auth.login("worker1")
    body = a.push_body([])
    body["status"].update({"failed_syncs": 5, "last_failed_sync_at": iso(datetime.now(timezone.utc))})
    a.client.post("/api/sync/push", json=body, headers=a.headers)
    assert admin.get("/api/outages?status=proposed").json["outages"] == []


def test_proposals_make_no_gaps_until_confirmed(app, admin):
    with app.app_context():
        outage = evidence.propose([1], at(-1, 7), at(-1, 9), {"kind": "server_heartbeat_gap"}, "technical")
        db.session.commit()
        oid = outage.id
    assert admin.get(f"/api/outages/{oid}/gaps").json["gaps"] == []
    admin.post(f"/api/outages/{oid}/confirm", json={})
    assert admin.get(f"/api/outages/{oid}/gaps").json["gaps"]
    with app.app_context():
        assert db.session.get(Outage, oid).status == "confirmed"


def test_a_planned_outage_that_has_not_begun_can_be_called_off_but_not_a_real_one(app, admin):
    start = datetime.now(timezone.utc) + timedelta(days=8)
    planned = admin.post("/api/outages", json={"kind": "planned", "started_at": iso(start),
                                               "expected_end": iso(start + timedelta(hours=2))}).json
    assert planned["short_notice"] is False
    called_off = admin.post(f"/api/outages/{planned['id']}/dismiss", json={"reason": "Uppgraderingen är flyttad"})
    assert called_off.status_code == 200 and called_off.json["status"] == "dismissed"
    unplanned_one = declare(admin, at(-1, 7), at(-1, 9))
    refused = admin.post(f"/api/outages/{unplanned_one['id']}/dismiss", json={"reason": "ångrar mig"})
    assert refused.status_code == 409


def test_patching_to_an_unknown_discovering_unit_is_422(admin):
    outage = declare(admin, at(-1, 7), at(-1, 9))
    response = patch(admin, f"/api/outages/{outage['id']}", {"discovered_by_unit_id": 999})
    assert response.status_code == 422 and "discovered_by_unit_id" in response.json["errors"]
