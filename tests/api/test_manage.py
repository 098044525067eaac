"""Managing by hand: an administrator finds and changes the own unit's clients, staff and visits; every change
has its audit row (before and after) in the same transaction, and a changed visit or client reaches a worker's
phone at its next pull. Another unit's administrator gets 404 and finds nothing; workers and managers get 403."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.extensions import db
from server.importer.models import AuditEntry
from server.models import AccessLog, Client, User, Visit

TZ = ZoneInfo("Europe/Stockholm")


def evening(hour, minute=0):
    """Today in Stockholm after the demo's day shift (07:30–15:30): no clash with it, and in the pull's window."""
    return datetime.combine(datetime.now(TZ).date(), time(hour, minute), TZ)


def audit_rows(app, entity, entity_id):
    """The object's audit rows since the demo's own import created it."""
    with app.app_context():
        return [(e.actor, e.action, e.before, e.after, e.unit_id) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id,
                                     AuditEntry.actor != "flask demo")
            .order_by(AuditEntry.id))]


def user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


@pytest.fixture
def phone(auth):
    """worker1's phone, with the shift package pulled (`.package`)."""
    s = auth.login("worker1")
    s.package = s.pull()
    return s


def own_visit(phone):
    """A visit of worker1 alone (not double-staffed)."""
    return next(v for v in phone.package["visits"] if [w["id"] for w in v["workers"]] == [phone.user["id"]])


def patch(session, path, body):
    return session.client.patch(path, json=body, headers=session.headers)


# ---------------------------------------------------------------------------------------------------- visits

def test_a_moved_visit_reaches_the_workers_next_pull_as_changed_with_its_audit_row(app, admin, phone):
    visit = own_visit(phone)
    opened = admin.get(f"/api/admin/visits/{visit['id']}")
    assert opened.status_code == 200 and opened.json["visit"]["revision"] == 0
    assert phone.user["id"] in [w["id"] for w in opened.json["staff_choices"]]
    start, end = evening(20), evening(20, 40)
    r = patch(admin, f"/api/admin/visits/{visit['id']}",
              {"revision": 0, "start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 200, r.json
    assert r.json["changed"] is True and r.json["visit"]["revision"] == 1
    [(actor, action, before, after, unit_id)] = audit_rows(app, "visit", visit["id"])
    assert (actor, action, unit_id) == ("admin1", "changed", admin.user["unit"]["id"])
    assert set(before) == set(after) == {"start", "end"}
    assert datetime.fromisoformat(before["start"]) == datetime.fromisoformat(visit["planned_start"])
    assert datetime.fromisoformat(after["start"]) == start and datetime.fromisoformat(after["end"]) == end
    assert r.json["audit"][0]["action"] == "changed"  # the visit's page shows its trail at once

    later = phone.pull(phone.package["cursor"])
    [sent] = [v for v in later["visits"] if v["id"] == visit["id"]]
    assert sent["revision"] == 1 and sent["cancelled"] is False
    assert datetime.fromisoformat(sent["planned_start"]) == start
    assert datetime.fromisoformat(sent["planned_end"]) == end


def test_saving_the_same_values_changes_nothing_and_writes_no_audit_row(app, admin, phone):
    visit = own_visit(phone)
    r = patch(admin, f"/api/admin/visits/{visit['id']}", {"revision": 0, "start": visit["planned_start"]})
    assert r.status_code == 200 and r.json["changed"] is False and r.json["visit"]["revision"] == 0
    assert audit_rows(app, "visit", visit["id"]) == []


def test_a_worker_in_two_visits_at_once_is_refused_with_a_swedish_message(app, admin, phone):
    visit = own_visit(phone)
    worker2 = user_id(app, "worker2")  # the demo gives every worker a visit in the same hourly slots
    r = patch(admin, f"/api/admin/visits/{visit['id']}", {"revision": 0, "staff": [worker2]})
    assert r.status_code == 409 and r.json["code"] == "double_booked"
    assert "är dubbelbokad: krockar med besök" in r.json["message"] and r.json["errors"]["staff"]
    with app.app_context():
        assert [w.id for w in db.session.get(Visit, visit["id"]).workers] == [phone.user["id"]]
    assert audit_rows(app, "visit", visit["id"]) == []


def test_restaffed_in_the_evening_the_visit_leaves_one_phone_and_reaches_the_other(app, auth, admin, phone):
    visit = own_visit(phone)
    other = auth.login("worker2")
    before = other.pull()
    assert visit["id"] not in before["visit_ids"]
    r = patch(admin, f"/api/admin/visits/{visit['id']}", {
        "revision": 0, "start": evening(21).isoformat(), "end": evening(21, 30).isoformat(),
        "staff": [other.user["id"]]})
    assert r.status_code == 200, r.json
    assert visit["id"] not in phone.pull(phone.package["cursor"])["visit_ids"]
    after = other.pull(before["cursor"])
    assert visit["id"] in after["visit_ids"]
    assert [v["revision"] for v in after["visits"] if v["id"] == visit["id"]] == [1]
    [(_, action, old, new, _)] = audit_rows(app, "visit", visit["id"])
    assert action == "changed" and old["staff"] == ["worker1"] and new["staff"] == ["worker2"]
    made_offline = phone.push([phone.event("visit_started", {"visit_id": visit["id"]})])  # before they knew
    assert made_offline.json["results"][0]["status"] == "applied", made_offline.json


def test_a_cancelled_visit_reaches_the_phone_as_cancelled_and_can_be_restored(app, admin, phone):
    visit = own_visit(phone)
    r = patch(admin, f"/api/admin/visits/{visit['id']}", {"revision": 0, "cancelled": True})
    assert r.status_code == 200 and r.json["visit"]["cancelled"] is True
    later = phone.pull(phone.package["cursor"])
    assert [(v["cancelled"], v["revision"]) for v in later["visits"] if v["id"] == visit["id"]] == [(True, 1)]
    assert visit["id"] in later["visit_ids"]  # kept on the phone, shown as "inställd"
    r = patch(admin, f"/api/admin/visits/{visit['id']}", {"revision": 1, "cancelled": False})
    assert r.status_code == 200 and r.json["visit"]["revision"] == 2
    last = phone.pull(later["cursor"])
    assert [(v["cancelled"], v["revision"]) for v in last["visits"] if v["id"] == visit["id"]] == [(False, 2)]
    assert [(a, b, c) for _, a, b, c, _ in audit_rows(app, "visit", visit["id"])] == [
        ("cancelled", {"cancelled": False}, {"cancelled": True}),
        ("restored", {"cancelled": True}, {"cancelled": False})]


def test_a_visit_changed_meanwhile_is_a_409_not_overwritten(admin, phone):
    visit = own_visit(phone)
    assert patch(admin, f"/api/admin/visits/{visit['id']}", {"revision": 0, "cancelled": True}).status_code == 200
    r = patch(admin, f"/api/admin/visits/{visit['id']}", {"revision": 0, "cancelled": False})
    assert r.status_code == 409 and r.json["code"] == "stale_revision"


@pytest.mark.parametrize("body, field", [
    ({"revision": 0, "end": "2026-01-01T00:00:00+01:00"}, "end"),  # before the start
    ({"revision": 0, "start": "2001-01-01T00:00:00+01:00", "end": "2001-01-03T00:00:00+01:00"}, "end"),  # > 1 day
    ({"revision": 0, "start": "2026-12-08T08:00:00"}, "start"),  # no offset
    ({"revision": 0, "start": "0001-01-01T00:00:00+14:00"}, "start"),
    ({"revision": 2**31, "cancelled": True}, "revision"),
    ({"revision": 0, "staff": []}, "staff"),
    ({"revision": 0, "staff": [1, 1]}, "staff"),
    ({"revision": 0, "staff": [2**40]}, "staff"),
    ({"revision": 0}, "_schema"),
    ({"revision": 0, "cancelled": "ja"}, "cancelled"),
    ({"revision": 0, "colour": "red"}, "colour"),
])
def test_odd_visit_changes_are_4xx_naming_the_field(admin, phone, body, field):
    r = patch(admin, f"/api/admin/visits/{own_visit(phone)['id']}", body)
    assert r.status_code == 422 and any(k.split(".")[0] == field for k in r.json["errors"]), r.json


def test_a_visit_is_staffed_only_with_active_workers_of_its_own_unit(app, admin, phone):
    visit = own_visit(phone)
    for username in ("worker7", "manager1"):  # another unit's worker; not a worker
        r = patch(admin, f"/api/admin/visits/{visit['id']}", {"revision": 0, "staff": [user_id(app, username)]})
        assert r.status_code == 422 and "staff" in r.json["errors"]


def test_the_days_visits_are_listed_and_searched_by_client_or_worker(app, admin, phone):
    today = datetime.now(TZ).date().isoformat()
    r = admin.get(f"/api/admin/visits?day={today}")
    assert r.status_code == 200 and len(r.json["visits"]) == 6 * 8 - 3 and r.json["more"] is False  # 3 shared
    starts = [v["planned_start"] for v in r.json["visits"]]
    assert starts == sorted(starts)
    mine = admin.get(f"/api/admin/visits?day={today}&q=worker1").json["visits"]
    assert len(mine) >= 8 and all(any(w["username"] == "worker1" for w in v["workers"]) for v in mine)
    client_name = mine[0]["client"]["name"]
    by_client = admin.get(f"/api/admin/visits", query_string={"day": today, "q": client_name.upper()}).json
    assert by_client["visits"] and all(v["client"]["name"] == client_name for v in by_client["visits"])
    with app.app_context():  # the list shows clients: one access-log row per client shown
        logged = {r.client_id for r in db.session.scalars(select(AccessLog).where(
            AccessLog.user_id == admin.user["id"], AccessLog.action == "manage_visits"))}
    assert {v["client"]["id"] for v in r.json["visits"]} <= logged


# ---------------------------------------------------------------------------------------------------- clients

def test_a_client_is_found_by_personal_number_and_edited_with_its_audit_row(app, admin, phone):
    client_id = phone.package["visits"][0]["client_id"]
    with app.app_context():
        number = db.session.get(Client, client_id).personal_number
    found = admin.get("/api/admin/clients", query_string={"q": number.replace("-", "")}).json["clients"]
    assert [c["id"] for c in found] == [client_id]
    opened = admin.get(f"/api/admin/clients/{client_id}").json["client"]
    r = patch(admin, f"/api/admin/clients/{client_id}", {
        "address": "Nygatan 5, Norrby", "key_ref": "N-77", "phone": "", "key_note": "Kod 1234 i skåpet",
        "notes": "Ny hund, stäng grinden.", "name": opened["name"]})
    assert r.status_code == 200 and r.json["changed"] is True, r.json
    assert r.json["client"]["phone"] is None and r.json["client"]["key_ref"] == "N-77"
    [(actor, action, before, after, _)] = audit_rows(app, "client", client_id)
    assert (actor, action) == ("admin1", "changed")
    assert set(after) == {"address", "key_ref", "phone", "key_note", "notes"}  # the name did not change
    assert before["address"] == opened["address"] and after["address"] == "Nygatan 5, Norrby"
    assert before["phone"] == opened["phone"] and after["phone"] is None
    [sent] = [c for c in phone.pull(phone.package["cursor"])["clients"] if c["id"] == client_id]
    assert sent["address"] == "Nygatan 5, Norrby" and sent["key"] == {"reference": "N-77",
                                                                        "note": "Kod 1234 i skåpet"}
    assert sent["person_card"]["notes"] == "Ny hund, stäng grinden."
    with app.app_context():
        assert db.session.scalar(select(AccessLog.id).where(
            AccessLog.user_id == admin.user["id"], AccessLog.client_id == client_id,
            AccessLog.action == "manage_client")) is not None


@pytest.mark.parametrize("body, field", [
    ({"personal_number": "18500314-1231"}, "personal_number"),  # wrong check digit
    ({"personal_number": "1850031"}, "personal_number"),
    ({"name": "   "}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"address": "x" * 201}, "address"),
    ({}, "_schema"),
    ({"unit_id": 2}, "unit_id"),
])
def test_odd_client_changes_are_4xx_naming_the_field(admin, body, field):
    r = patch(admin, "/api/admin/clients/1", body)
    assert r.status_code == 422 and field in r.json["errors"], r.json


def test_a_personal_number_is_stored_in_its_one_form(app, admin):
    r = patch(admin, "/api/admin/clients/1", {"personal_number": "185003141230"})
    assert r.status_code == 200 and r.json["client"]["personal_number"] == "18500314-1230"


# ------------------------------------------------------------------------------------------------------ staff

def test_a_deactivated_worker_is_refused_at_the_next_pull_and_login_and_back_when_reactivated(app, admin, phone, client):
    worker = phone.user["id"]
    found = admin.get("/api/admin/staff", query_string={"q": "worker1"}).json["staff"]
    assert [s["username"] for s in found] == ["worker1"] and found[0]["has_password"] is True
    r = patch(admin, f"/api/admin/staff/{worker}", {"active": False})
    assert r.status_code == 200 and r.json["staff"]["active"] is False
    refused = phone.get("/api/sync/pull")
    assert refused.status_code == 401 and refused.json["message"] == "Kontot är inaktiverat."
    login = client.post("/api/auth/token", json={"username": "worker1", "password": "demo", "device_id": "dev-w1-x1"})
    assert login.status_code == 401
    assert patch(admin, f"/api/admin/staff/{worker}", {"active": True}).status_code == 200
    assert phone.get("/api/sync/pull").status_code == 200  # the same phone, the same token
    assert [(a, b, c) for _, a, b, c, _ in audit_rows(app, "staff", worker)] == [
        ("deactivated", {"active": True}, {"active": False}), ("reactivated", {"active": False}, {"active": True})]


def test_an_administrator_cannot_deactivate_themself(admin):
    r = patch(admin, f"/api/admin/staff/{admin.user['id']}", {"active": False})
    assert r.status_code == 409 and r.json["code"] == "own_account"


def test_a_name_is_corrected_with_its_audit_row(app, admin):
    worker = user_id(app, "worker3")
    r = patch(admin, f"/api/admin/staff/{worker}", {"display_name": "  Tova Torn "})
    assert r.status_code == 200 and r.json["staff"]["display_name"] == "Tova Torn"
    [(_, action, before, after, _)] = audit_rows(app, "staff", worker)
    assert action == "changed" and set(before) == {"display_name"} and after == {"display_name": "Tova Torn"}
    assert r.json["audit"][0]["after"] == {"display_name": "Tova Torn"}


# ------------------------------------------------------------------------------------------------------ scope

def test_another_units_administrator_gets_404_and_finds_nothing(app, admin, admin2, phone):
    visit = own_visit(phone)
    client_id, worker = visit["client_id"], phone.user["id"]
    for path in (f"/api/admin/visits/{visit['id']}", f"/api/admin/clients/{client_id}", f"/api/admin/staff/{worker}"):
        assert admin2.get(path).status_code == 404
        r = patch(admin2, path, {"revision": 0, "cancelled": True} if "visits" in path else
                  {"active": False} if "staff" in path else {"name": "Fel"})
        assert r.status_code == 404 and "Söder" not in r.get_data(as_text=True)
    r = admin2.post(f"/api/admin/staff/{worker}/enrolment-code", json={})
    assert r.status_code == 404
    today = datetime.now(TZ).date().isoformat()
    with app.app_context():
        north_numbers = [c.personal_number for c in db.session.scalars(select(Client).where(
            Client.unit_id == admin.user["unit"]["id"]))]
        north_names = [u.username for u in db.session.scalars(select(User).where(
            User.unit_id == admin.user["unit"]["id"]))]
    bodies = [admin2.get(p).get_data(as_text=True) for p in (
        "/api/admin/clients?limit=200", "/api/admin/staff?limit=200", f"/api/admin/visits?day={today}",
        "/api/admin/visits?day={}&q=worker1".format(today), "/api/admin/clients?q=18020202")]
    assert not [n for n in north_numbers + north_names if any(f'"{n}"' in b for b in bodies)]
    assert audit_rows(app, "visit", visit["id"]) == [] and audit_rows(app, "staff", worker) == []
    with app.app_context():  # each attempt on another unit's object is in the access log
        denied = db.session.scalars(select(AccessLog).where(AccessLog.user_id == admin2.user["id"],
                                                            AccessLog.outcome == "denied")).all()
    assert len(denied) == 7 and {d.detail for d in denied} == {"other_unit"}


def test_workers_and_managers_get_403_on_every_change(auth, phone):
    visit = own_visit(phone)
    for name in ("worker1", "manager1"):
        s = auth.login(name)
        assert patch(s, f"/api/admin/visits/{visit['id']}", {"revision": 0, "cancelled": True}).status_code == 403
        assert patch(s, f"/api/admin/clients/{visit['client_id']}", {"name": "X"}).status_code == 403
        assert patch(s, f"/api/admin/staff/{phone.user['id']}", {"active": False}).status_code == 403
        assert s.post(f"/api/admin/staff/{phone.user['id']}/enrolment-code", json={}).status_code == 403
        assert s.get("/api/admin/clients").status_code == 403


@pytest.mark.parametrize("query, field", [
    ("q=a%00b", "q"), ("limit=0", "limit"), ("limit=201", "limit"), ("limit=%C2%B2", "limit"),
])
def test_odd_search_values_are_4xx_naming_the_parameter(admin, query, field):
    for path in ("/api/admin/clients", "/api/admin/staff"):
        r = admin.get(f"{path}?{query}")
        assert r.status_code == 422 and field in r.json["errors"], (path, r.json)


@pytest.mark.parametrize("query", ["", "day=0001-01-01", "day=2026-02-30", "day=9999-12-31"])
def test_a_visit_day_is_required_and_bounded(admin, query):
    r = admin.get(f"/api/admin/visits?{query}")
    assert r.status_code == 422 and "day" in r.json["errors"]
