"""Push: exactly-once, one bad event never blocks the rest, structural faults are 4xx with nothing applied."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from server.extensions import db
from server.models import AccessLog, Device, Event, InterventionRecord, QuarantinedEvent, Registration, Unit
from server.sealing import seal
from support.visits import visit_events


def _state(app):
    with app.app_context():
        return (db.session.query(Event).count(), db.session.query(QuarantinedEvent).count(),
                sorted((r.visit_id, r.worker_id, r.started_at, r.ended_at) for r in db.session.query(Registration)),
                sorted((r.visit_id, r.intervention_id, r.status) for r in db.session.query(InterventionRecord)))


def test_the_same_batch_twice_is_all_duplicate_and_changes_nothing(app, worker):
    events = visit_events(worker, worker.package["visits"][0])
    first = worker.push(events)
    assert first.status_code == 200
    assert [r["status"] for r in first.json["results"]] == ["applied"] * 4
    before = _state(app)
    second = worker.push(events)
    assert [r["status"] for r in second.json["results"]] == ["duplicate"] * 4
    assert [r["id"] for r in second.json["results"]] == [e["id"] for e in events]
    assert _state(app) == before
    assert before[0] == 4 and len(before[2]) == 1 and before[2][0][2] is not None and before[2][0][3] is not None


def test_one_invalid_event_is_quarantined_and_the_rest_applied(app, worker):
    visit = worker.package["visits"][0]
    good = visit_events(worker, visit)
    bad = worker.event("visit_started", {"visit_id": 999999})
    r = worker.push(good[:2] + [bad] + good[2:])
    statuses = {x["id"]: (x["status"], x["code"]) for x in r.json["results"]}
    assert statuses[bad["id"]] == ("rejected", "unknown_visit")
    assert all(statuses[e["id"]] == ("applied", "applied") for e in good)
    with app.app_context():
        q = db.session.get(QuarantinedEvent, bad["id"])
        assert q.code == "unknown_visit" and q.state == "open" and q.raw["payload"] == {"visit_id": 999999}
        assert q.message
    again = worker.push([bad])
    assert again.json["results"][0]["status"] == "rejected" and again.json["results"][0]["code"] == "unknown_visit"


def test_a_visit_of_another_worker_is_rejected(app, auth, worker):
    other = auth.login("worker3").pull()["visits"]
    theirs = next(v for v in other if worker.user["id"] not in [w["id"] for w in v["workers"]])
    r = worker.push([worker.event("visit_started", {"visit_id": theirs["id"]})])
    assert r.json["results"][0]["code"] == "not_your_visit"


def test_both_workers_of_a_double_staffed_visit_register(app, auth, worker):
    pair = next(v for v in worker.package["visits"] if len(v["workers"]) == 2)
    partner_name = next(w for w in pair["workers"] if w["id"] != worker.user["id"])
    with app.app_context():
        from server.models import User
        partner_username = db.session.get(User, partner_name["id"]).username
    partner = auth.login(partner_username)
    assert worker.push([worker.event("visit_started", {"visit_id": pair["id"]})]).json["results"][0]["status"] == "applied"
    assert partner.push([partner.event("visit_started", {"visit_id": pair["id"]})]).json["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.query(Registration).filter_by(visit_id=pair["id"]).count() == 2


def test_same_id_with_other_content_is_rejected_and_kept_in_quarantine_beside_the_stored_one(app, worker):
    visit = worker.package["visits"][0]
    e = worker.event("visit_started", {"visit_id": visit["id"]})
    worker.push([e])
    forged = dict(e, payload={"visit_id": visit["id"], "at": e["occurred_at"], "adjust_reason": "x"}, device_seq=99)
    r = worker.push([forged])
    assert r.json["results"][0] == {"id": e["id"], "status": "rejected", "code": "id_reused",
                                    "message": r.json["results"][0]["message"]}
    assert worker.push([forged]).json["results"][0]["code"] == "id_reused"  # asked again: the same answer
    with app.app_context():
        kept = db.session.get(QuarantinedEvent, e["id"])
        assert kept.code == "id_reused" and kept.raw["device_seq"] == 99 and kept.raw["payload"]["adjust_reason"] == "x"
        stored = db.session.query(Event).filter_by(id=e["id"]).one()
        assert stored.device_seq == e["device_seq"] and "adjust_reason" not in stored.payload  # not overwritten
    assert worker.push([e]).json["results"][0]["status"] == "duplicate"  # the original is still the stored one


def test_malformed_json_is_400(worker):
    r = worker.client.post("/api/sync/push", data="{not json", headers={**worker.headers,
                                                                        "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["code"] == "invalid_json"


@pytest.mark.parametrize("mutate, field", [
    (lambda b, e: e.update(type="visit_teleported"), "events.1.type"),
    (lambda b, e: e.update(id="not-a-uuid"), "events.1.id"),
    (lambda b, e: e.update(device_seq="7"), "events.1.device_seq"),
    (lambda b, e: e.update(occurred_at="yesterday"), "events.1.occurred_at"),
    (lambda b, e: e.update(occurred_at="2026-11-23T08:00:00"), "events.1.occurred_at"),  # no offset
    (lambda b, e: e.update(occurred_at="1969-12-31T23:00:00+00:00"), "events.1.occurred_at"),
    (lambda b, e: e.update(occurred_at="0001-01-01T00:00:00+14:00"), "events.1.occurred_at"),
    (lambda b, e: e.update(occurred_at="2999-01-01T00:00:00+01:00"), "events.1.occurred_at"),
    (lambda b, e: e.update(occurred_at="9999-12-31T23:59:59-14:00"), "events.1.occurred_at"),
    (lambda b, e: b["status"].update(device_clock="9999-12-31T23:59:59-14:00"), "status.device_clock"),
    (lambda b, e: b["status"].update(oldest_pending_at="0001-01-01T00:00:00+14:00"), "status.oldest_pending_at"),
    (lambda b, e: b["status"].update(last_failed_sync_at="0001-01-01T00:00:00+14:00"), "status.last_failed_sync_at"),
    (lambda b, e: e.update(extra="field"), "events.1.extra"),
    (lambda b, e: e.pop("payload"), "events.1.payload"),
    (lambda b, e: e["payload"].update(visit_id="12"), "events.1.payload.visit_id"),
    (lambda b, e: e["payload"].update(visit_id=2**40), "events.1.payload.visit_id"),
    (lambda b, e: e["payload"].update(unknown=1), "events.1.payload.unknown"),
    (lambda b, e: b["events"][0]["payload"].update(at=(datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()),
     "events.0.payload.adjust_reason"),
    (lambda b, e: b.update(protocol=2), "protocol"),
    (lambda b, e: b.pop("status"), "status"),
    (lambda b, e: b["status"].update(pending=-1), "status.pending"),
    (lambda b, e: b.update(events="all of them"), "events"),
])
def test_structural_faults_are_422_with_field_messages_and_nothing_applied(app, worker, mutate, field):
    visit = worker.package["visits"][0]
    events = visit_events(worker, visit)
    body = worker.push_body(events)
    mutate(body, body["events"][1] if isinstance(body["events"], list) else {})
    before = _state(app)
    r = worker.client.post("/api/sync/push", json=body, headers=worker.headers)
    assert r.status_code == 422, r.json
    assert r.json["code"] == "validation_error" and field in r.json["errors"], r.json["errors"]
    assert _state(app) == before


@pytest.mark.parametrize("text", ["\x00", "\ud800"])
def test_text_no_database_can_store_is_422(app, worker, text):
    visit = worker.package["visits"][0]
    e = worker.event("note_added", {"client_id": visit["client_id"], "text": f"a{text}b"})
    raw = json.dumps(worker.push_body([e]))  # json.dumps escapes both, as a device would send them
    r = worker.client.post("/api/sync/push", data=raw, headers={**worker.headers, "Content-Type": "application/json"})
    assert r.status_code == 422 and "events.0.payload.text" in r.json["errors"]


def test_odd_but_valid_unicode_and_markup_are_stored_verbatim(app, worker):
    visit = worker.package["visits"][0]
    text = "Åsa sa: <script>alert(1)</script> '; DROP TABLE events;-- 👵🏻 \u202e"
    e = worker.event("note_added", {"client_id": visit["client_id"], "text": text})
    assert worker.push([e]).json["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.query(Event).filter_by(id=e["id"]).one().payload["text"] == text


def test_oversized_batch_is_413_with_the_limit(app, worker):
    visit = worker.package["visits"][0]
    events = [worker.event("client_record_opened", {"client_id": visit["client_id"], "view": "overview"})
              for _ in range(101)]
    r = worker.push(events)
    assert r.status_code == 413 and r.json["code"] == "batch_too_large" and r.json["max_batch"] == 100
    assert _state(app)[0] == 0
    assert worker.push(events[:50]).status_code == 200 and worker.push(events[50:]).status_code == 200
    assert _state(app)[0] == 101


def test_clock_skew_is_measured_kept_and_flagged(app, worker):
    visit = worker.package["visits"][0]
    slow = datetime.now(timezone.utc) - timedelta(minutes=10)
    e = worker.event("visit_started", {"visit_id": visit["id"]}, occurred_at=slow.isoformat())
    r = worker.push([e], device_clock=slow.isoformat())
    assert 590 < r.json["skew_seconds"] < 610
    with app.app_context():
        row = db.session.query(Event).filter_by(id=e["id"]).one()
        assert row.skew_flagged and row.occurred_at_raw == slow.isoformat()
        assert abs((row.occurred_at_corrected - datetime.now(timezone.utc)).total_seconds()) < 30
        reg = db.session.query(Registration).filter_by(visit_id=visit["id"]).one()
        assert reg.started_at == row.occurred_at_corrected, "an unadjusted start takes the corrected time"
        assert db.session.get(Device, worker.device_id).last_skew_seconds > 590


def test_a_phone_whose_clock_was_reset_is_corrected_and_flagged(app, worker):
    """The clock says 1970 and so do its records: corrected by the skew they land now, flagged, raw kept."""
    visit = worker.package["visits"][0]
    reset = datetime(1970, 1, 1, 0, 5, tzinfo=timezone.utc)
    e = worker.event("visit_started", {"visit_id": visit["id"]}, occurred_at=reset.isoformat())
    r = worker.push([e], device_clock=(reset + timedelta(minutes=1)).isoformat())
    assert r.json["results"][0]["status"] == "applied"
    with app.app_context():
        row = db.session.query(Event).filter_by(id=e["id"]).one()
        assert row.skew_flagged and row.occurred_at_raw == reset.isoformat()
        assert abs((row.occurred_at_corrected - datetime.now(timezone.utc)).total_seconds()) < 120


def test_records_whose_corrected_time_is_absurd_are_quarantined_not_ranked(app, worker):
    """A clock in 1970 with a record made now would place the visit in 2083, outranking every later correction:
    that record is kept in quarantine with its raw times; a record a year old is quarantined the same way."""
    visit = worker.package["visits"][0]
    now = datetime.now(timezone.utc)
    started = worker.event("visit_started", {"visit_id": visit["id"]})
    ended = worker.event("visit_ended", {"visit_id": visit["id"]}, occurred_at=(now - timedelta(days=365)).isoformat())
    r = worker.push([started], device_clock="1970-01-01T00:00:00+00:00")
    assert r.status_code == 200 and r.json["results"][0]["code"] == "implausible_time"
    assert worker.push([ended]).json["results"][0]["code"] == "implausible_time"
    with app.app_context():
        assert db.session.query(Registration).filter_by(visit_id=visit["id"]).count() == 0
        kept = db.session.get(QuarantinedEvent, started["id"])
        assert kept.raw["occurred_at"] == started["occurred_at"] and kept.skew_seconds > 50 * 365 * 86400
    fixed = worker.push([worker.event("visit_started", {"visit_id": visit["id"]})])
    assert fixed.json["results"][0]["status"] == "applied"


def test_small_skew_is_not_flagged(app, worker):
    visit = worker.package["visits"][0]
    e = worker.event("visit_started", {"visit_id": visit["id"]})
    worker.push([e])
    with app.app_context():
        assert not db.session.query(Event).filter_by(id=e["id"]).one().skew_flagged


def test_status_block_is_stored_for_managers(app, worker):
    oldest = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
    body = worker.push_body([], pending=7)
    body["status"].update(oldest_pending_at=oldest, app_version="1.2.3")
    assert worker.client.post("/api/sync/push", json=body, headers=worker.headers).status_code == 200
    with app.app_context():
        d = db.session.get(Device, worker.device_id)
        assert d.status_pending == 7 and d.status_app_version == "1.2.3"
        assert d.status_oldest_pending_at == datetime.fromisoformat(oldest)


def test_after_a_push_the_phone_counts_only_what_is_still_waiting(app, auth, worker):
    """The phone counts the records it sends as waiting; once they are answered the manager's backlog must not
    keep showing them until the phone happens to report again."""
    events = visit_events(worker, worker.package["visits"][0])
    oldest = (datetime.now(timezone.utc) - timedelta(hours=5)).isoformat()
    body = worker.push_body(events[:2], pending=4)  # two more wait for the next batch
    body["status"]["oldest_pending_at"] = oldest
    assert worker.client.post("/api/sync/push", json=body, headers=worker.headers).status_code == 200
    with app.app_context():
        d = db.session.get(Device, worker.device_id)
        assert d.status_pending == 2 and d.status_oldest_pending_at == datetime.fromisoformat(oldest)
    body = worker.push_body(events[2:], pending=2)
    body["status"]["oldest_pending_at"] = oldest
    worker.client.post("/api/sync/push", json=body, headers=worker.headers)
    with app.app_context():
        d = db.session.get(Device, worker.device_id)
        assert d.status_pending == 0 and d.status_oldest_pending_at is None
    backlog = auth.login("manager1").get("/api/dashboard/backlog").json
    assert next(d for d in backlog["devices"] if d["device_id"] == worker.device_id)["pending"] == 0


def test_opening_a_record_offline_lands_in_the_access_log(app, worker):
    visit = worker.package["visits"][0]
    opened_at = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    e = worker.event("client_record_opened", {"client_id": visit["client_id"], "view": "medication_list"},
                     occurred_at=opened_at)
    worker.push([e])
    worker.push([e])
    with app.app_context():
        rows = db.session.query(AccessLog).filter_by(event_id=e["id"]).all()
        assert len(rows) == 1
        assert rows[0].offline and rows[0].action == "open_medication_list" and rows[0].client_id == visit["client_id"]
        # the time it was opened (corrected for the device's clock, here only milliseconds off)
        assert abs((rows[0].at - datetime.fromisoformat(opened_at)).total_seconds()) < 1


def test_records_before_the_lock_date_go_to_quarantine(app, worker):
    visit = worker.package["visits"][0]
    with app.app_context():
        unit = db.session.query(Unit).filter_by(code="NORR").one()
        unit.lock_date = (datetime.now(timezone.utc) + timedelta(days=2)).date()
        db.session.commit()
    r = worker.push([worker.event("visit_started", {"visit_id": visit["id"]})])
    assert r.json["results"][0]["code"] == "before_lock_date"
    assert _state(app)[0] == 0 and _state(app)[1] == 1


def test_sealed_events_are_unsealed_and_applied_with_the_push_token(app, worker):
    visit = worker.package["visits"][0]
    with app.app_context():
        public = app.extensions["outbox_key"].public_key()
    events = visit_events(worker, visit)
    sealed = [{"id": e["id"], "sealed": seal(public, e)} for e in events]
    r = worker.push(sealed, headers=worker.push_headers)
    assert [x["status"] for x in r.json["results"]] == ["applied"] * 4
    resealed = [{"id": e["id"], "sealed": seal(public, e)} for e in events]  # a retry seals anew
    assert [x["status"] for x in worker.push(resealed, headers=worker.push_headers).json["results"]] == ["duplicate"] * 4


def test_push_token_may_not_send_plain_events(worker):
    visit = worker.package["visits"][0]
    r = worker.push([worker.event("visit_started", {"visit_id": visit["id"]})], headers=worker.push_headers)
    assert r.status_code == 422 and "events.0.sealed" in r.json["errors"]


def test_a_sealed_event_that_does_not_open_is_422(app, worker):
    visit = worker.package["visits"][0]
    with app.app_context():
        public = app.extensions["outbox_key"].public_key()
    e = worker.event("visit_started", {"visit_id": visit["id"]})
    other = worker.event("visit_started", {"visit_id": visit["id"]})
    swapped = {"id": other["id"], "sealed": seal(public, e)}  # sealed for another id
    r = worker.push([swapped], headers=worker.push_headers)
    assert r.status_code == 422 and "events.0.sealed" in r.json["errors"]


def test_a_revoked_device_still_hands_over_its_records_to_quarantine_and_is_told_to_wipe(app, auth, worker):
    visit = worker.package["visits"][0]
    auth.login("admin1").post(f"/api/devices/{worker.device_id}/revoke")
    e = worker.event("visit_started", {"visit_id": visit["id"]})
    with app.app_context():
        public = app.extensions["outbox_key"].public_key()
    r = worker.push([{"id": e["id"], "sealed": seal(public, e)}], headers=worker.push_headers)
    assert r.status_code == 200 and r.json["wipe"] is True
    assert r.json["results"][0]["code"] == "device_revoked"
    with app.app_context():
        assert db.session.get(QuarantinedEvent, e["id"]).code == "device_revoked"


def test_push_for_another_device_is_403(worker):
    body = worker.push_body([])
    body["device_id"] = "someone-elses-phone"
    r = worker.client.post("/api/sync/push", json=body, headers=worker.headers)
    assert r.status_code == 403


def test_an_adjusted_time_needs_and_keeps_its_reason(app, worker):
    visit = worker.package["visits"][0]
    at = datetime.fromisoformat(visit["planned_start"])
    e = worker.event("visit_started", {"visit_id": visit["id"], "at": at.isoformat(),
                                       "adjust_reason": "Glömde trycka vid ankomst"})
    assert worker.push([e]).json["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.query(Registration).filter_by(visit_id=visit["id"]).one().started_at == at


def test_duplicate_ids_inside_one_batch_count_once(app, worker):
    visit = worker.package["visits"][0]
    e = worker.event("visit_started", {"visit_id": visit["id"]})
    r = worker.push([e, e])
    assert [x["status"] for x in r.json["results"]] == ["applied", "duplicate"]
    assert _state(app)[0] == 1


def test_new_event_ids_are_uuids(worker):
    assert uuid.UUID(worker.event("visit_started", {"visit_id": 1})["id"])
