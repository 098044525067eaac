"""Each notification the outage area causes reaches exactly its people, through the real outbox and a real
(local) push service: outages declared, started, ended and reminded; deadlines; escalations; the threshold."""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.extensions import db
from server.outages import evaluation
from server.outages.models import Gap
from server.notify.worker import run_once
from support.push_fixtures import push_app, push_service, subscribe  # noqa: F401

STHLM = ZoneInfo("Europe/Stockholm")
NORR = ("worker1", "worker2", "admin1", "manager1")
SODER = ("worker7", "worker8", "admin2", "manager2")


def at(day_offset, hour, minute=0):
    day = datetime.now(STHLM).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute), STHLM).astimezone(timezone.utc)


@pytest.fixture
def phones(subscribe):
    return {username: subscribe(username) for username in NORR + SODER}


def kinds_received(push_service, phones):
    return {username: [m["payload"]["kind"] for m in push_service.messages_for(phone.subscriber)]
            for username, phone in phones.items()}


def deliver(app, now=None):
    with app.app_context():
        return run_once(now=now)


def only(received, kind, usernames):
    """Exactly these people got `kind` (once each); nobody else got it."""
    got = {u for u, kinds in received.items() if kind in kinds}
    assert got == set(usernames), (kind, got)
    assert all(kinds.count(kind) <= 1 for kinds in received.values())


def declare(phones, username, body):
    admin = phones[username].session
    response = admin.post("/api/outages", json=body)
    assert response.status_code == 201, response.json
    return admin, response.json


def test_an_unplanned_outage_starting_and_ending_tells_its_units_staff_only(push_app, phones, push_service):
    admin, outage = declare(phones, "admin1", {
        "kind": "unplanned", "started_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
        "reporter_name": "Fiktiv Anmälare", "fault_type": "technical", "discovered_by_unit_id": 1})
    deliver(push_app)
    only(kinds_received(push_service, phones), "outage_started", NORR)
    assert admin.post(f"/api/outages/{outage['id']}/end", json={}).status_code == 200
    deliver(push_app)
    received = kinds_received(push_service, phones)
    only(received, "outage_ended", NORR)
    [back] = [m["payload"] for m in push_service.messages_for(phones["worker1"].subscriber)
              if m["payload"]["kind"] == "outage_ended"]
    assert back["body"] == "Systemet är tillbaka – öppna appen så synkas dina registreringar."
    assert all(kinds == [] for u, kinds in received.items() if u in SODER)


def test_a_planned_outage_is_announced_and_reminded_the_day_before_to_its_units_staff(push_app, phones,
                                                                                      push_service):
    start = at(7, 22)
    _, outage = declare(phones, "admin2", {"kind": "planned", "started_at": start.isoformat(),
                                           "expected_end": (start + timedelta(hours=3)).isoformat(),
                                           "unit_ids": [2], "fault_type": "upgrade"})
    deliver(push_app)
    only(kinds_received(push_service, phones), "outage_announced", SODER)
    [announced] = [m["payload"] for m in push_service.messages_for(phones["worker7"].subscriber)]
    assert announced["title"] == "Planerat driftstopp" and "Uppdatera din offlinekopia" in announced["body"]

    deliver(push_app, now=at(5, 12))  # two days before: not yet
    assert "outage_reminder" not in kinds_received(push_service, phones)["worker7"]
    deliver(push_app, now=at(6, 6))  # the day before, but before the reminder hour (07:00)
    assert "outage_reminder" not in kinds_received(push_service, phones)["worker7"]
    deliver(push_app, now=at(6, 7, 30))
    deliver(push_app, now=at(6, 8, 30))  # the check runs every minute; the reminder goes out once
    only(kinds_received(push_service, phones), "outage_reminder", SODER)
    [reminder] = [m["payload"] for m in push_service.messages_for(phones["manager2"].subscriber)
                  if m["payload"]["kind"] == "outage_reminder"]
    assert reminder["title"] == "Driftstopp i morgon"
    assert reminder["body"] == "Driftstoppet börjar i morgon 22:00. Uppdatera din offlinekopia i dag."

    deliver(push_app, now=start - timedelta(minutes=1))
    assert "outage_started" not in kinds_received(push_service, phones)["worker7"]
    deliver(push_app, now=start + timedelta(minutes=1))  # the announced start has come
    deliver(push_app, now=start + timedelta(minutes=2))
    only(kinds_received(push_service, phones), "outage_started", SODER)


def test_an_ongoing_outage_crossing_the_threshold_tells_that_units_managers_only(push_app, phones, push_service):
    declare(phones, "admin2", {
        "kind": "unplanned", "started_at": (datetime.now(timezone.utc) - timedelta(hours=10, minutes=5)).isoformat(),
        "unit_ids": [2], "reporter_name": "Fiktiv Anmälare", "fault_type": "technical"})
    deliver(push_app)
    deliver(push_app)
    only(kinds_received(push_service, phones), "threshold_crossed", ["manager2"])
    [message] = [m["payload"] for m in push_service.messages_for(phones["manager2"].subscriber)
                 if m["payload"]["kind"] == "threshold_crossed"]
    assert message["title"] == "Driftstopp över 10 timmar" and message["url"] == "/admin/outages.html"


def test_a_deadline_today_reaches_the_worker_with_gaps_and_an_escalation_the_units_admins(push_app, phones,
                                                                                       push_service):
    _, outage = declare(phones, "admin1", {
        "kind": "unplanned", "started_at": at(-1, 7).isoformat(), "ended_at": at(-1, 12).isoformat(),
        "reporter_name": "Fiktiv Anmälare", "fault_type": "technical", "discovered_by_unit_id": 1})
    with push_app.app_context():
        workers_with_gaps = set(db.session.scalars(select(Gap.worker_id).where(Gap.outage_id == outage["id"])))
    phone_of = {phone.user["id"]: u for u, phone in phones.items()}
    expected = {phone_of[w] for w in workers_with_gaps if w in phone_of}
    assert expected, "the demo schedule gives worker1/worker2 visits yesterday morning"

    morning = at(0, 9)
    with push_app.app_context():
        evaluation.tick(morning)
        db.session.commit()
    deliver(push_app)  # the clock of the rule engine is simulated; the push goes out now
    only(kinds_received(push_service, phones), "deadline_today", expected)
    [message] = [m["payload"] for m in push_service.messages_for(phones[sorted(expected)[0]].subscriber)
                 if m["payload"]["kind"] == "deadline_today"]
    assert message["url"] == "/#/postreg" and message["body"].endswith("senast i dag 23:59.")

    after_deadline = at(1, 1)
    with push_app.app_context():
        evaluation.tick(after_deadline)
        db.session.commit()
    deliver(push_app)
    only(kinds_received(push_service, phones), "gap_escalated", ["admin1"])
