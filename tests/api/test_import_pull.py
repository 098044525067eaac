"""Schedule changes that meet phones already offline: a visit the planning system moved, re-staffed or cancelled
after a phone pulled reaches it at the next pull; a record made for a cancelled visit is kept and shown to
the administrator; the visit is never deleted."""
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.importer import run_import
from server.importer.read import json_tables
from server.models import AccessLog, Event, Visit

TZ = ZoneInfo("Europe/Stockholm")


def evening(hour, minute=0):
    """Today in Stockholm, after the demo's day shift (07:30–15:30): no double booking with it."""
    day = datetime.now(TZ).date()
    return datetime.combine(day, time(hour, minute), TZ).isoformat()


def rows(first_start=20, second_staff=("worker1",), cancelled=False):
    return {
        "staff": [{"external_id": "worker1", "unit": "NORR", "username": "worker1", "name": "Wera Ett", "role": "worker"},
                  {"external_id": "worker2", "unit": "NORR", "username": "worker2", "name": "Wilma Två", "role": "worker"}],
        "clients": [{"external_id": "B-1", "unit": "NORR", "personal_number": "18500314-1230", "name": "Fiktiv Ett",
                     "address": "Norrgatan 1", "key_ref": "N-99"}],
        "visits": [{"external_id": "V-1", "client": "B-1", "start": evening(first_start),
                    "end": evening(first_start, 30), "staff": ["worker1"], "cancelled": cancelled},
                   {"external_id": "V-2", "client": "B-1", "start": evening(22), "end": evening(22, 30),
                    "staff": list(second_staff)}],
    }


@pytest.fixture
def token(admin):
    return admin.post("/api/admin/integration-tokens", json={"name": "TES"}).json["token"]


@pytest.fixture
def send(client, token):
    def send(body):
        r = client.post("/api/integration/import", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.json
        return r.json["diff"]["visits"]
    return send


def ids(app, *external_ids):
    with app.app_context():
        return [db.session.scalar(select(Visit.id).where(Visit.external_id == e)) for e in external_ids]


def test_a_moved_and_a_cancelled_visit_reach_a_phone_that_pulled_before(app, auth, send):
    send(rows())
    v1, v2 = ids(app, "V-1", "V-2")
    phone = auth.login("worker1")
    first = phone.pull()
    assert {v1, v2} <= set(first["visit_ids"])
    assert {v["id"]: v["revision"] for v in first["visits"] if v["id"] in (v1, v2)} == {v1: 0, v2: 0}
    diff = send(rows(first_start=19, cancelled=True))  # V-1 cancelled, V-2 unchanged
    assert (diff["cancelled"], diff["unchanged"]) == (1, 1)
    later = phone.pull(first["cursor"])
    assert [v["id"] for v in later["visits"]] == [v1]
    assert later["visits"][0]["cancelled"] is True and later["visits"][0]["revision"] == 1
    assert v1 in later["visit_ids"]  # kept on the phone, marked "inställd"
    moved = rows(first_start=19, cancelled=True)
    moved["visits"][1]["start"], moved["visits"][1]["end"] = evening(21), evening(21, 45)
    send(moved)
    last = phone.pull(later["cursor"])
    assert [(v["id"], v["revision"], v["cancelled"]) for v in last["visits"]] == [(v2, 1, False)]
    assert datetime.fromisoformat(last["visits"][0]["planned_end"]) == datetime.fromisoformat(evening(21, 45))


def test_a_visit_restaffed_away_leaves_one_phone_and_reaches_the_other(app, auth, send):
    send(rows())
    _, v2 = ids(app, "V-1", "V-2")
    first_phone, second_phone = auth.login("worker1"), auth.login("worker2")
    before1, before2 = first_phone.pull(), second_phone.pull()
    assert v2 in before1["visit_ids"] and v2 not in before2["visit_ids"]
    send(rows(second_staff=("worker2",)))
    assert v2 not in first_phone.pull(before1["cursor"])["visit_ids"]
    after2 = second_phone.pull(before2["cursor"])
    assert [(v["id"], v["revision"]) for v in after2["visits"]] == [(v2, 1)]


def test_a_worker_taken_off_a_visit_while_offline_still_delivers_what_they_recorded_for_it(app, auth, send):
    send(rows())
    _, v2 = ids(app, "V-1", "V-2")
    first_phone = auth.login("worker1")
    first_phone.pull()
    send(rows(second_staff=("worker2",)))  # re-staffed while worker1's phone was offline …
    started = first_phone.event("visit_started", {"visit_id": v2})
    r = first_phone.push([started])  # … worker1 made the visit and the record arrives afterwards
    assert r.json["results"][0]["status"] == "applied", r.json
    send(rows(second_staff=("worker1",)))  # put back: a worker again, not a former one
    send(rows(second_staff=("worker2",)))
    stranger = auth.login("worker3")  # never on the visit: still refused
    refused = stranger.push([stranger.event("visit_started", {"visit_id": v2})])
    assert refused.json["results"][0]["code"] == "not_your_visit"


def test_a_worker_moved_to_another_unit_loses_the_old_units_visits_but_their_records_deliver_there(
        app, auth, send):
    send(rows())
    v1, _ = ids(app, "V-1", "V-2")
    phone = auth.login("worker1")
    assert v1 in phone.pull()["visit_ids"]
    ended = phone.event("visit_ended", {"visit_id": v1})
    with app.app_context():  # moved by system administration (`flask import`: every unit)
        moved = {"staff": [dict(rows()["staff"][0], unit="SODER")]}
        outcome = run_import(lambda: json_tables(moved), apply=True, actor={"name": "flask import"})
        assert outcome.diff["staff"]["changed"] == 1, outcome.problems
        db.session.commit()
    assert v1 not in phone.pull()["visit_ids"]  # no longer the worker's unit: gone at the next pull
    answer = phone.push([ended])
    assert answer.json["results"][0]["status"] == "applied", answer.json
    with app.app_context():
        stored = db.session.scalar(select(Event).where(Event.id == ended["id"]))
        assert stored.unit_id == db.session.get(Visit, v1).unit_id  # Norr's record, for Norr's manager


def test_a_record_for_a_visit_cancelled_meanwhile_is_kept_and_shown_to_the_administrator(app, auth, admin, send):
    send(rows())
    v1, _ = ids(app, "V-1", "V-2")
    phone = auth.login("worker1")
    phone.pull()
    send(rows(cancelled=True))  # cancelled while the phone was offline …
    started = phone.event("visit_started", {"visit_id": v1})
    r = phone.push([started])  # … and the worker's record arrives afterwards
    assert r.status_code == 200 and r.json["results"][0]["status"] == "applied", r.json
    send(rows(cancelled=True))
    with app.app_context():
        assert db.session.get(Visit, v1).cancelled
        assert db.session.scalar(select(func.count()).select_from(Event).where(Event.id == started["id"])) == 1
    shown = admin.get("/api/admin/cancelled-visits")
    assert shown.status_code == 200
    [visit] = shown.json["visits"]
    assert visit["id"] == v1 and visit["external_id"] == "V-1" and visit["client"]["name"] == "Fiktiv Ett"
    assert [(rec["type"], rec["worker"]) for rec in visit["records"]] == [("visit_started", "Wera Ett")]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.action == "cancelled_visits", AccessLog.user_id == admin.user["id"])) == 1


def test_another_units_administrator_does_not_see_this_units_cancelled_visits(app, auth, admin2, send):
    send(rows())
    v1, _ = ids(app, "V-1", "V-2")
    phone = auth.login("worker1")
    phone.pull()
    phone.push([phone.event("visit_started", {"visit_id": v1})])
    send(rows(cancelled=True))
    assert admin2.get("/api/admin/cancelled-visits").json == {"visits": []}
