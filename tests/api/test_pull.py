"""The shift package: the worker's own visits, their clients' records, scoped, logged and incremental."""
from datetime import datetime, timedelta, timezone

from server.extensions import db
from server.models import AccessLog, Client, Device, User, Visit


def test_package_holds_the_workers_visits_and_their_clients(app, auth):
    s = auth.login("worker1")
    body = s.pull()
    assert body["full"] is True and body["visits"]
    start, end = (datetime.fromisoformat(body["window"][k]) for k in ("start", "end"))
    assert end - datetime.fromisoformat(body["as_of"]) >= timedelta(hours=12)
    with app.app_context():
        me = db.session.query(User).filter_by(username="worker1").one()
        for v in body["visits"]:
            assert me.id in [w["id"] for w in v["workers"]]
            assert datetime.fromisoformat(v["planned_end"]) > start
            assert datetime.fromisoformat(v["planned_start"]) < end
        units = {db.session.get(Client, c["id"]).unit_id for c in body["clients"]}
        assert units == {me.unit_id}
    assert {v["client_id"] for v in body["visits"]} == {c["id"] for c in body["clients"]}
    client = body["clients"][0]
    assert set(client) >= {"name", "personal_number", "address", "key", "person_card", "care_plan",
                           "medication_list"}
    assert client["care_plan"]["interventions"] and client["person_card"]["relatives"]


def test_double_staffed_visits_show_the_partner(auth):
    body = auth.login("worker1").pull()
    pairs = [v for v in body["visits"] if len(v["workers"]) == 2]
    assert pairs, "the demo schedule has a double-staffed visit for worker1 every day"


def test_every_client_sent_is_access_logged(app, auth):
    s = auth.login("worker1")
    body = s.pull()
    with app.app_context():
        rows = db.session.query(AccessLog).filter_by(action="sync_pull", device_id=s.device_id).all()
        assert sorted(r.client_id for r in rows) == sorted(c["id"] for c in body["clients"])
        device = db.session.get(Device, s.device_id)
        assert device.last_pull_at is not None and device.copy_covers_until is not None


def test_incremental_pull_sends_only_what_changed(app, auth):
    s = auth.login("worker1")
    first = s.pull()
    second = s.pull(first["cursor"])
    assert second["full"] is False and second["visits"] == [] and second["clients"] == []
    assert second["visit_ids"] == first["visit_ids"]
    changed_visit = first["visits"][0]
    with app.app_context():
        v = db.session.get(Visit, changed_visit["id"])
        v.instructions = "Ny portkod 4711"
        cancelled = db.session.get(Visit, first["visits"][-1]["id"])
        cancelled.cancelled = True
        db.session.commit()
    third = s.pull(second["cursor"])
    assert [v["id"] for v in third["visits"]] == [changed_visit["id"], first["visits"][-1]["id"]]
    assert third["visits"][0]["instructions"] == "Ny portkod 4711"
    # a cancelled visit is sent again, flagged, and stays in the package so the phone can show "inställd"
    assert third["visits"][1]["cancelled"] is True and first["visits"][-1]["id"] in third["visit_ids"]


def test_a_damaged_cursor_gives_a_full_package(auth):
    s = auth.login("worker1")
    assert s.pull("not-a-cursor")["full"] is True


def test_reading_a_client_of_another_unit_is_403_and_logged(app, auth):
    s = auth.login("worker1")
    with app.app_context():
        other_id = db.session.query(Client.id).join(User, User.unit_id == Client.unit_id) \
            .filter(User.username == "worker7").first()[0]
        own = s.pull()["clients"][0]["id"]
    r = s.get(f"/api/clients/{other_id}")
    assert r.status_code == 403 and r.json["code"] == "forbidden"
    assert s.get(f"/api/clients/{own}").status_code == 200
    assert s.get("/api/clients/999999").status_code == 404
    with app.app_context():
        denied = db.session.query(AccessLog).filter_by(client_id=other_id, outcome="denied").one()
        assert denied.user_id == s.user["id"] and denied.action == "read_client"
        assert db.session.query(AccessLog).filter_by(client_id=own, action="read_client").count() == 1


def test_a_worker_reads_only_the_clients_of_own_visits_in_the_shift_window(app, auth):
    """Issue 27.2: a client of the unit on none of the worker's visits (or only on visits outside the window)
    is 403 and logged; administrators and managers keep unit scope."""
    s = auth.login("worker1")
    package = s.pull()
    own = {c["id"] for c in package["clients"]}
    with app.app_context():
        unit = db.session.query(User.unit_id).filter_by(username="worker1").scalar()
        not_mine = sorted(cid for (cid,) in db.session.query(Client.id).filter_by(unit_id=unit) if cid not in own)
    assert own and not_mine
    stranger = not_mine[0]
    r = s.get(f"/api/clients/{stranger}")
    assert r.status_code == 403 and "personal_number" not in r.get_data(as_text=True)
    with app.app_context():
        denied = db.session.query(AccessLog).filter_by(client_id=stranger, outcome="denied").one()
        assert denied.user_id == s.user["id"] and denied.action == "read_client" and denied.detail == "not_on_shift"
    mine = min(own)
    assert s.get(f"/api/clients/{mine}").status_code == 200
    for name in ("admin1", "manager1"):
        assert auth.login(name).get(f"/api/clients/{stranger}").status_code == 200
    with app.app_context():  # the same client, its visits moved out of the window: no longer readable
        for visit in db.session.query(Visit).filter_by(client_id=mine):
            visit.planned_start = datetime(2020, 1, 1, tzinfo=timezone.utc)
            visit.planned_end = datetime(2020, 1, 1, 1, tzinfo=timezone.utc)
        db.session.commit()
    assert s.get(f"/api/clients/{mine}").status_code == 403


def test_empty_window_is_a_valid_package(app, auth):
    s = auth.login("worker1")
    with app.app_context():
        db.session.query(Visit).update({Visit.planned_start: datetime(2020, 1, 1, tzinfo=timezone.utc),
                                        Visit.planned_end: datetime(2020, 1, 1, 1, tzinfo=timezone.utc)})
        db.session.commit()
    body = s.pull()
    assert body["visits"] == [] and body["clients"] == [] and body["visit_ids"] == []


def test_the_package_says_what_the_server_already_holds_of_my_registrations(auth):
    s = auth.login("worker1")
    first = s.pull()
    assert first["registrations"] == []
    visit = first["visits"][0]
    intervention = visit["interventions"][0]["id"]
    s.push([s.event("visit_started", {"visit_id": visit["id"]}),
            s.event("intervention_recorded", {"visit_id": visit["id"], "intervention_id": intervention,
                                              "status": "not_done", "reason": "declined"}),
            s.event("visit_ended", {"visit_id": visit["id"]})])
    # a new phone (or the same one after a PIN wipe) learns it from an incremental pull too
    again = auth.login("worker1").pull()
    later = s.pull(first["cursor"])
    for body in (again, later):
        [reg] = body["registrations"]
        assert reg["visit_id"] == visit["id"] and reg["started_at"] and reg["ended_at"]
        assert reg["interventions"] == [{"intervention_id": intervention, "status": "not_done", "reason": "declined"}]
    partner_view = auth.login("worker2").pull()
    assert all(r["visit_id"] != visit["id"] for r in partner_view["registrations"]), "only my own registrations"
