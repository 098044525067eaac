"""Getting people in and out by hand: an imported staff member (no password) logs in once with an administrator's
one-time enrolment code; the code is never stored or logged in the clear; a reset voids the old password; a
lost phone is revoked from the person's page; each step is in the audit trail."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from server.extensions import db
from server.importer.models import AuditEntry
from server.models import User, utcnow

NEW = {"external_id": "P-NY", "unit": "NORR", "username": "ny.norr", "name": "Nyanställd Norr", "role": "worker"}


@pytest.fixture
def imported(app, client, admin):
    """A staff member the planning system imported: password "!", so no password lets them in."""
    token = admin.post("/api/admin/integration-tokens", json={"name": "TES"}).json["token"]
    r = client.post("/api/integration/import", json={"staff": [NEW]}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.json
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ny.norr"))
        assert user.password_hash == "!"
        return user.id


def login(client, password, device_id="dev-ny-norr-1", username="ny.norr"):
    return client.post("/api/auth/token", json={"username": username, "password": password, "device_id": device_id})


def everything_stored(app):
    """Every row of the tables a code could leak into, as text."""
    with app.app_context():
        return json.dumps([[list(map(str, row)) for row in db.session.execute(text(f"SELECT * FROM {table}"))]
                           for table in ("audit_trail", "access_log", "users", "login_failures")])


def test_an_imported_person_logs_in_once_with_a_code_and_the_second_use_is_refused(app, client, admin, imported):
    assert login(client, "!").status_code == 401
    opened = admin.get(f"/api/admin/staff/{imported}").json["staff"]
    assert opened["has_password"] is False and opened["enrolment_code_expires_at"] is None
    r = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json={})
    assert r.status_code == 201, r.json
    code = r.json["code"]
    assert len(code) == 14 and code.count("-") == 2
    assert r.json["staff"]["enrolment_code_expires_at"] == r.json["expires_at"]
    assert code not in admin.get(f"/api/admin/staff/{imported}").get_data(as_text=True)  # shown once only
    assert code.replace("-", "") not in everything_stored(app)  # only its HMAC is stored

    first = login(client, code.lower().replace("-", " "))  # typed as people type it
    assert first.status_code == 200 and first.json["user"]["username"] == "ny.norr"
    phone = {"Authorization": f"Bearer {first.json['token']}"}
    assert client.get("/api/sync/pull", headers=phone).status_code == 200
    again = login(client, code, device_id="dev-ny-norr-2")
    assert again.status_code == 401 and again.json["code"] == "invalid_credentials"
    assert code.replace("-", "") not in everything_stored(app)
    trail = admin.get(f"/api/admin/staff/{imported}").json
    assert [e["action"] for e in trail["audit"]][:2] == ["code_used", "code_set"]
    assert trail["audit"][1]["actor"] == "admin1" and trail["audit"][0]["actor"] == "ny.norr"
    assert trail["staff"]["enrolment_code_expires_at"] is None
    assert [d["id"] for d in trail["devices"]] == ["dev-ny-norr-1"]


def test_a_login_refused_after_the_code_matched_leaves_the_code_for_the_retry(client, admin, imported, auth):
    taken = auth.login("worker1").device_id  # a shared phone: its id belongs to a colleague
    code = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json={}).json["code"]
    r = login(client, code, device_id=taken)
    assert r.status_code == 409 and r.json["code"] == "device_id_taken"
    assert login(client, code, device_id="dev-ny-norr-fresh").status_code == 200  # the app's retry, new id
    assert login(client, code, device_id="dev-ny-norr-other").status_code == 401
    used = [e["action"] for e in admin.get(f"/api/admin/staff/{imported}").json["audit"]]
    assert used.count("code_used") == 1


def test_an_expired_code_is_refused(app, client, admin, imported):
    code = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json={}).json["code"]
    with app.app_context():
        user = db.session.get(User, imported)
        user.enrolment_code_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(client, code).status_code == 401


def test_a_new_code_replaces_the_unused_one(client, admin, imported):
    old = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json={}).json["code"]
    new = admin.post(f"/api/admin/staff/{imported}/enrolment-code").json["code"]  # no body: the same
    assert login(client, old).status_code == 401
    assert login(client, new).status_code == 200


def test_a_code_counts_against_the_login_failure_limit(app, client, admin, imported):
    app.config["LOGIN_MAX_FAILURES"] = 3
    code = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json={}).json["code"]
    for guess in ("AAAA-AAAA-AAAA", "BBBB-BBBB-BBBB", "CCCC-CCCC-CCCC"):
        assert login(client, guess).status_code == 401
    assert login(client, code).status_code == 429  # while throttled even the right code waits


def test_a_password_reset_voids_the_old_password_and_the_code_lets_the_person_in(app, client, admin):
    with app.app_context():
        worker = db.session.scalar(select(User.id).where(User.username == "worker2"))
    r = admin.post(f"/api/admin/staff/{worker}/enrolment-code", json={"reset_password": True})
    assert r.status_code == 201 and r.json["staff"]["has_password"] is False
    assert login(client, "demo", username="worker2").status_code == 401
    assert login(client, r.json["code"], username="worker2").status_code == 200
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "staff",
                                                            AuditEntry.entity_id == worker,
                                                            AuditEntry.actor != "flask demo")
                                   .order_by(AuditEntry.id)).first()
        assert entry.action == "password_reset" and entry.actor == "admin1"
        assert entry.before["password"] == "satt" and entry.after["password"] == "inget"
        assert set(entry.after) == {"password", "enrolment_code_expires_at"}  # never the code itself


def test_a_deactivated_person_gets_no_code_and_a_code_set_before_stops_working(app, client, admin, imported):
    code = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json={}).json["code"]
    patch = client.patch(f"/api/admin/staff/{imported}", json={"active": False}, headers=admin.headers)
    assert patch.status_code == 200
    assert login(client, code).status_code == 401
    r = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json={})
    assert r.status_code == 409 and r.json["code"] == "inactive"


@pytest.mark.parametrize("body, field", [({"reset_password": "yes"}, "reset_password"), ({"code": "X"}, "code"),
                                         ({"reset_password": None}, "reset_password")])
def test_odd_enrolment_bodies_are_422_naming_the_field(admin, imported, body, field):
    r = admin.post(f"/api/admin/staff/{imported}/enrolment-code", json=body)
    assert r.status_code == 422 and field in r.json["errors"]


def test_a_lost_phone_is_revoked_from_the_persons_page_and_refused_at_once(app, auth, admin):
    phone = auth.login("worker4", device_id="dev-worker4-lost")
    other = auth.login("worker4", device_id="dev-worker4-new")
    page = admin.get(f"/api/admin/staff/{phone.user['id']}").json
    assert {d["id"] for d in page["devices"]} == {"dev-worker4-lost", "dev-worker4-new"}
    assert all(d["revoked_at"] is None and d["enrolled_at"] for d in page["devices"])
    assert admin.post(f"/api/devices/{phone.device_id}/revoke").status_code == 200  # the one revoke door
    refused = phone.get("/api/sync/pull")
    assert refused.status_code == 401 and refused.json["code"] == "device_revoked"
    assert other.get("/api/sync/pull").status_code == 200  # the person's other phone goes on
    page = admin.get(f"/api/admin/staff/{phone.user['id']}").json
    assert [d["id"] for d in page["devices"] if d["revoked_at"]] == ["dev-worker4-lost"]
    [entry] = [e for e in page["audit"] if e["action"] == "device_revoked"]
    assert entry["external_id"] == "dev-worker4-lost" and entry["actor"] == "admin1"
    assert entry["before"]["revoked_at"] is None and entry["after"]["revoked_at"]
    assert admin.post(f"/api/devices/{phone.device_id}/revoke").status_code == 200  # again: no second row
    assert len([e for e in admin.get(f"/api/admin/staff/{phone.user['id']}").json["audit"]
                if e["action"] == "device_revoked"]) == 1


def test_another_units_administrator_sees_no_devices_and_cannot_revoke(auth, admin2):
    phone = auth.login("worker4", device_id="dev-worker4-north")
    assert admin2.get(f"/api/admin/staff/{phone.user['id']}").status_code == 404
    assert admin2.post(f"/api/devices/{phone.device_id}/revoke").status_code == 404
    assert phone.get("/api/sync/pull").status_code == 200
