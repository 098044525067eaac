"""The outbox on a real database: enqueue in the caller's transaction, fan-out, delivery, retries, 410, crashes."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Device, User, utcnow
from server.notify import PayloadError, admins_of, enqueue, managers_of, staff_of
from server.notify.kinds import KINDS
from server.notify.models import PushDelivery, PushNotification, PushSubscription
from server.notify.outbox import _claim, fan_out
from server.notify.worker import run_once
from support.push_fixtures import push_app, push_service, subscribe  # noqa: F401

NORR, SODER = 1, 2


def user_id(username):
    return db.session.scalar(select(User.id).where(User.username == username))


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def received(push_service, phone):
    return [m["payload"] for m in push_service.messages_for(phone.subscriber)]


def test_a_notification_lives_and_dies_with_the_callers_transaction(push_app):
    with push_app.app_context():
        enqueue("outage_ended", staff_of([NORR]))
        db.session.rollback()
        assert count(PushNotification) == 0
        enqueue("outage_ended", staff_of([NORR]))
        db.session.commit()
        assert count(PushNotification) == len(staff_of([NORR])) == 8  # 6 workers, admin1, manager1


def test_system_back_reaches_every_device_of_the_units_staff_and_nobody_else(push_app, subscribe, push_service):
    w1_phone, w1_tablet, w2, a1, w7, a2 = (subscribe(u) for u in
                                           ("worker1", "worker1", "worker2", "admin1", "worker7", "admin2"))
    with push_app.app_context():
        enqueue("outage_ended", staff_of([NORR]))
        db.session.commit()
        report = run_once()
    assert report["sent"] == {"delivered": 4}
    for phone in (w1_phone, w1_tablet, w2, a1):
        [message] = received(push_service, phone)
        assert message["title"] == "Systemet är tillbaka"
        assert message["body"] == "Systemet är tillbaka – öppna appen så synkas dina registreringar."
    assert received(push_service, w7) == received(push_service, a2) == []


@pytest.mark.parametrize("kind, group, unit, meant_for, not_for", [
    ("gap_escalated", admins_of, NORR, ["admin1"], ["worker1", "manager1", "admin2"]),
    ("threshold_crossed", managers_of, NORR, ["manager1"], ["worker1", "admin1", "manager2"]),
    ("gap_escalated", admins_of, SODER, ["admin2"], ["worker7", "admin1"]),
])
def test_unit_role_groups_reach_exactly_their_people(push_app, subscribe, push_service, kind, group, unit,
                                                     meant_for, not_for):
    phones = {u: subscribe(u) for u in meant_for + not_for}
    data = {"gap_escalated": {"count": 3}, "threshold_crossed": {"hours": 10}}[kind]
    with push_app.app_context():
        enqueue(kind, group(unit), data)
        db.session.commit()
        run_once()
    for username in meant_for:
        assert [m["kind"] for m in received(push_service, phones[username])] == [kind]
    for username in not_for:
        assert received(push_service, phones[username]) == []


def test_the_payload_is_texts_and_a_screen_never_a_person(push_app, subscribe, push_service):
    phone = subscribe("worker1")
    with push_app.app_context():
        deadline = utcnow().replace(hour=21, minute=59)
        enqueue("deadline_today", [phone.user["id"]], {"count": 2, "deadline": deadline})
        db.session.commit()
        run_once()
        client_names = {c for (c,) in db.session.execute(db.text("SELECT name FROM clients"))}
    [message] = received(push_service, phone)
    assert set(message) == {"id", "kind", "title", "body", "title_en", "body_en", "url", "at"}
    assert message["url"] == "/#/postreg"
    assert message["body"].startswith("Du har 2 besök att efterregistrera senast ")
    text = " ".join(str(v) for v in message.values())
    assert not any(name in text for name in client_names)


@pytest.mark.parametrize("data", [{"count": 2, "deadline": "Fiktiv Kvinna"}, {"count": "2 hos Fiktiv Kvinna",
                                  "deadline": utcnow()}, {"count": 1, "deadline": utcnow(), "client": "x"}])
def test_anything_but_declared_counts_and_times_is_refused(push_app, data):
    with push_app.app_context(), pytest.raises(PayloadError):
        enqueue("deadline_today", [1], data)


def test_the_same_fact_enqueued_twice_is_sent_once(push_app, subscribe, push_service):
    phone = subscribe("manager1")
    with push_app.app_context():
        added = []
        for _ in range(3):
            added.append(enqueue("threshold_crossed", managers_of(NORR), {"hours": 10}, dedupe_key="outage-7"))
            db.session.commit()
            run_once()
        assert added == [1, 0, 0]
        assert count(PushNotification) == 1
    assert len(received(push_service, phone)) == 1


def test_ttl_is_what_is_left_of_the_lifetime_and_urgency_follows_the_kind(push_app, subscribe, push_service):
    phone = subscribe("worker3")
    with push_app.app_context():
        start = utcnow()
        enqueue("outage_started", [phone.user["id"]], now=start)
        enqueue("offline_copy_stale", [phone.user["id"]], {"age_minutes": 75}, now=start)
        db.session.commit()
        run_once(now=start + timedelta(seconds=600), checks=False)
    by_kind = {m["payload"]["kind"]: m for m in push_service.messages_for(phone.subscriber)}
    assert (by_kind["outage_started"]["urgency"], by_kind["outage_started"]["ttl"]) == ("high", 3600 - 600)
    assert (by_kind["offline_copy_stale"]["urgency"], by_kind["offline_copy_stale"]["ttl"]) == ("normal", 3000)


def test_410_removes_the_subscription_and_later_notifications_skip_it(push_app, subscribe, push_service):
    gone, alive = subscribe("worker4"), subscribe("worker4")
    push_service.script(gone.subscriber, 410)
    with push_app.app_context():
        enqueue("outage_ended", [gone.user["id"]])
        db.session.commit()
        assert run_once()["sent"] == {"gone": 1, "delivered": 1}
        assert count(PushSubscription, PushSubscription.endpoint == gone.subscriber.endpoint) == 0
        enqueue("outage_started", [gone.user["id"]])
        db.session.commit()
        assert run_once()["sent"] == {"delivered": 1}
    assert [m["kind"] for m in received(push_service, alive)] == ["outage_ended", "outage_started"]
    assert received(push_service, gone) == []


def test_a_busy_push_service_is_retried_with_backoff_and_its_retry_after(push_app, subscribe, push_service):
    phone = subscribe("worker5")
    push_service.script(phone.subscriber, 503, (429, {"Retry-After": "300"}))
    with push_app.app_context():
        t0 = utcnow()
        enqueue("outage_ended", [phone.user["id"]], now=t0)
        db.session.commit()
        assert run_once(now=t0, checks=False)["sent"] == {"retry": 1}
        assert run_once(now=t0 + timedelta(seconds=29), checks=False)["sent"] == {}  # base backoff is 30 s
        assert run_once(now=t0 + timedelta(seconds=31), checks=False)["sent"] == {"retry": 1}
        assert run_once(now=t0 + timedelta(seconds=31 + 120), checks=False)["sent"] == {}  # 60 s backoff < 300
        assert run_once(now=t0 + timedelta(seconds=31 + 301), checks=False)["sent"] == {"delivered": 1}
        delivery = db.session.scalar(select(PushDelivery))
        assert (delivery.state, delivery.attempts) == ("delivered", 3)
    assert len(received(push_service, phone)) == 1


def test_a_notification_past_its_lifetime_is_not_sent(push_app, subscribe, push_service):
    phone = subscribe("worker6")
    with push_app.app_context():
        t0 = utcnow()
        enqueue("outage_started", [phone.user["id"]], now=t0)
        db.session.commit()
        assert run_once(now=t0 + timedelta(seconds=KINDS["outage_started"].ttl + 1), checks=False)["sent"] == \
            {"expired": 1}
    assert received(push_service, phone) == []


def test_a_revoked_device_or_inactive_user_gets_nothing(push_app, subscribe, push_service):
    revoked, kept, inactive = subscribe("worker1"), subscribe("worker2"), subscribe("worker3")
    with push_app.app_context():
        db.session.get(Device, revoked.device_id).revoked_at = utcnow()
        db.session.get(User, inactive.user["id"]).active = False
        db.session.commit()
        enqueue("outage_ended", [revoked.user["id"], kept.user["id"], inactive.user["id"]])
        db.session.commit()
        run_once()
    assert received(push_service, revoked) == received(push_service, inactive) == []
    assert len(received(push_service, kept)) == 1


def test_a_worker_that_died_after_leasing_lets_the_next_one_send_exactly_once(push_app, subscribe, push_service):
    phone = subscribe("worker2")
    with push_app.app_context():
        t0 = utcnow()
        enqueue("outage_ended", [phone.user["id"]], now=t0)
        db.session.commit()
        fan_out(t0)
        assert len(_claim(t0, push_app.config["PUSH_LEASE_SECONDS"], 10)) == 1  # ... and then it died
        db.session.remove()
        assert run_once(now=t0 + timedelta(seconds=5), checks=False)["sent"] == {}  # lease still held
        # the lease runs from the claim, which a loaded machine may reach seconds after t0
        lease_over = db.session.scalar(select(PushDelivery.locked_until)) + timedelta(seconds=1)
        assert lease_over >= t0 + timedelta(seconds=push_app.config["PUSH_LEASE_SECONDS"])
        assert run_once(now=lease_over, checks=False)["sent"] == {"delivered": 1}
        assert run_once(now=lease_over + timedelta(hours=1), checks=False)["sent"] == {}
    assert len(received(push_service, phone)) == 1


def test_an_old_offline_copy_is_reported_to_that_device_only_once_per_copy(push_app, subscribe, push_service):
    stale, fresh_same_worker, other = subscribe("worker1"), subscribe("worker1"), subscribe("worker2")
    with push_app.app_context():
        now = utcnow()
        for phone, pulled in ((stale, now - timedelta(minutes=90)), (fresh_same_worker, now - timedelta(minutes=5)),
                              (other, now - timedelta(minutes=10))):
            device = db.session.get(Device, phone.device_id)
            device.last_pull_at, device.last_seen_at = pulled, now - timedelta(minutes=1)
        db.session.commit()
        assert run_once(now=now)["checks"]["stale_offline_copies"] == 1
        assert run_once(now=now + timedelta(minutes=1))["checks"]["stale_offline_copies"] == 0
    [message] = received(push_service, stale)
    assert message["kind"] == "offline_copy_stale" and message["body"].startswith("Offlinekopian är 90 minuter")
    assert received(push_service, fresh_same_worker) == received(push_service, other) == []


def test_old_finished_notifications_are_pruned_with_their_deliveries(push_app, subscribe, push_service):
    phone = subscribe("worker5")
    with push_app.app_context():
        now = utcnow()
        enqueue("outage_ended", [phone.user["id"]], now=now - timedelta(days=31))
        enqueue("outage_started", [phone.user["id"]], now=now - timedelta(days=31))
        enqueue("outage_ended", [phone.user["id"]], now=now - timedelta(days=1), dedupe_key="recent")
        db.session.commit()
        run_once(now=now - timedelta(days=31), checks=False)  # the old ones were delivered back then
        assert count(PushDelivery) == 3
        report = run_once(now=now)
        assert report["checks"]["prune_old_notifications"] == 2
        assert count(PushNotification) == 1 and count(PushDelivery) == 1
        assert db.session.scalar(select(PushNotification.dedupe_key)) == "recent"
