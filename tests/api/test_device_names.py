"""Phones have names people can tell apart (issue 31, item 10): the app enrols them by model, browser and day,
and a worker renames their own phone, an administrator or manager any phone of their unit — nobody another's."""
from sqlalchemy import select

from server.extensions import db
from server.models import AccessLog, Device


def name_of(app, device_id):
    with app.app_context():
        return db.session.get(Device, device_id).name


def test_a_worker_renames_their_own_phone_and_a_manager_any_of_the_unit(app, auth):
    worker = auth.login("worker1")
    r = worker.client.put(f"/api/devices/{worker.device_id}/name", json={"name": "  Annas Pixel  "},
                          headers=worker.headers)
    assert r.status_code == 200 and r.json == {"id": worker.device_id, "name": "Annas Pixel"}
    assert name_of(app, worker.device_id) == "Annas Pixel"
    manager = auth.login("manager1")
    r = manager.client.put(f"/api/devices/{worker.device_id}/name", json={"name": "Bilens telefon"},
                           headers=manager.headers)
    assert r.status_code == 200 and name_of(app, worker.device_id) == "Bilens telefon"


def test_nobody_renames_another_workers_or_another_units_phone_and_the_attempt_is_logged(app, auth):
    mine, colleague, other_unit = auth.login("worker1"), auth.login("worker2"), auth.login("worker7")
    admin_norr = auth.login("admin1")
    for who, target in ((colleague, mine), (admin_norr, other_unit)):
        r = who.client.put(f"/api/devices/{target.device_id}/name", json={"name": "Mitt nu"}, headers=who.headers)
        assert r.status_code == 404 and r.json["code"] == "not_found"
        assert name_of(app, target.device_id) != "Mitt nu"
    with app.app_context():
        denied = db.session.scalars(select(AccessLog).where(AccessLog.outcome == "denied",
                                                            AccessLog.action.like("PUT /api/devices/%"))).all()
    assert len(denied) == 2


def test_a_name_must_be_a_short_plain_text(app, auth):
    worker = auth.login("worker1")
    for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 121}, {"name": "a\u0000b"}, {}, {"name": "ok", "x": 1}):
        r = worker.client.put(f"/api/devices/{worker.device_id}/name", json=body, headers=worker.headers)
        assert r.status_code in (400, 422), (body, r.status_code)
