"""Group commit on PostgreSQL (server.push_groups, ingest._pg_group): pushes of different workers that arrive
while a group is at the database are stored in one transaction, and each is answered as it would have been alone —
after the commit; whatever the group cannot take (a record for the full path, a record another push of the group
stores too, a group that fails as a whole) is taken by itself, stored once, nothing lost.

Threads stand in for the gevent worker's greenlets (both wait on threading's primitives); the first group is held
at the database until the others have queued behind it, so the grouping is certain, not a matter of timing."""
import threading
import time

import pytest
from sqlalchemy import text

from server import ingest
from server.extensions import db
from server.models import Device, Event, QuarantinedEvent
from server.push_groups import PushGroups
from tests.conftest import requires_postgresql

WAIT = 10  # seconds at most for what must happen

# group commit is PostgreSQL's (on SQLite one push writes at a time, under the writer's lock)
pytestmark = [requires_postgresql, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


class HeldDatabase:
    """ingest._pg_group, with the first group held before it reaches the database until `release`; the next
    leader waits for it as long as it takes (in production only PATIENCE)."""

    def __init__(self, app, monkeypatch):
        self.real, self.gate, self.entered, self.calls = ingest._pg_group, threading.Event(), threading.Event(), []
        monkeypatch.setattr(ingest, "_pg_group", self)
        app.extensions["push_groups"] = PushGroups(self, patience=WAIT)

    def __call__(self, group):
        self.calls.append(len(group))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.gate.wait(WAIT)
        return self.real(group)

    def release(self):
        self.gate.set()


def pushing(app, session, events, answers, key=None):
    """Push `events` from `session` in a thread of its own; its answer lands in answers[key or the username]."""
    def send():
        answers[key or session.user["username"]] = app.test_client().post(
            "/api/sync/push", json=session.push_body(events), headers=session.headers)
    thread = threading.Thread(target=send)
    thread.start()
    return thread


def queued(app, n):
    deadline = time.monotonic() + WAIT
    while len(app.extensions["push_groups"]._queue) < n:
        assert time.monotonic() < deadline, "the pushes did not queue behind the held group"
        time.sleep(0.002)


def phones(auth, *names):
    out = []
    for name in names:
        session = auth.login(name)
        session.package = session.pull()
        out.append(session)
    return out


def started(session, visit=0, **kw):
    return session.event("visit_started", {"visit_id": session.package["visits"][visit]["id"]}, **kw)


def transactions(app, ids):
    """The transaction that stored each event (PostgreSQL's xmin of its row)."""
    with app.app_context():
        return dict(db.session.execute(text("SELECT id, xmin::text FROM events WHERE id = ANY(:ids)"),
                                       {"ids": ids}).all())


def statuses(answer):
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [r["status"] for r in answer.json["results"]]


def test_pushes_arriving_together_share_one_transaction_and_each_is_answered(app, auth, monkeypatch):
    held = HeldDatabase(app, monkeypatch)
    first, *others = phones(auth, "worker1", "worker2", "worker3", "worker4")
    records = {s.user["username"]: [started(s), s.event("note_added", {
        "client_id": s.package["visits"][0]["client_id"], "visit_id": s.package["visits"][0]["id"], "text": "Pigg."})]
        for s in (first, *others)}
    answers = {}
    threads = [pushing(app, first, records["worker1"], answers)]
    assert held.entered.wait(WAIT)
    threads += [pushing(app, s, records[s.user["username"]], answers) for s in others]
    queued(app, len(others))
    held.release()
    for thread in threads:
        thread.join(WAIT)
    assert {name: statuses(answer) for name, answer in answers.items()} == \
        {name: ["applied", "applied"] for name in records}
    assert held.calls == [1, 3]
    stored = transactions(app, [e["id"] for events in records.values() for e in events])
    assert len(stored) == 8  # every record once
    shared = {stored[e["id"]] for s in others for e in records[s.user["username"]]}
    assert len(shared) == 1 and stored[records["worker1"][0]["id"]] not in shared
    with app.app_context():  # each device's status, from its own push
        for s in (first, *others):
            device = db.session.get(Device, s.device_id)
            assert device.last_push_at is not None and device.status_app_version is not None


def test_a_workers_second_push_waits_for_the_next_group_and_sees_the_first(app, auth, monkeypatch):
    """Two phones of one worker send the same record at the same moment: one group cannot hold both (the second
    must see the first stored), so it is stored once and the other phone is told it was received before."""
    held = HeldDatabase(app, monkeypatch)
    blocker, phone_a, other = phones(auth, "worker3", "worker1", "worker2")
    phone_b = auth.login("worker1")
    record = started(phone_a)
    answers = {}
    threads = [pushing(app, blocker, [started(blocker)], answers)]
    assert held.entered.wait(WAIT)
    threads += [pushing(app, phone_a, [record], answers), pushing(app, other, [started(other)], answers)]
    queued(app, 2)
    threads.append(pushing(app, phone_b, [record], answers, key="worker1, second phone"))
    queued(app, 3)
    held.release()
    for thread in threads:
        thread.join(WAIT)
    assert held.calls == [1, 2, 1]  # worker1 and worker2, then worker1's second phone
    assert statuses(answers["worker1"]) == ["applied"] and statuses(answers["worker2"]) == ["applied"]
    assert statuses(answers["worker1, second phone"]) == ["duplicate"]
    with app.app_context():
        assert db.session.query(Event).filter_by(id=record["id"]).count() == 1


def test_a_push_the_group_cannot_take_goes_to_the_full_path_and_the_rest_are_stored(app, auth, monkeypatch):
    held = HeldDatabase(app, monkeypatch)
    blocker, good, stray = phones(auth, "worker1", "worker2", "worker3")
    elsewhere = good.package["visits"][0]["id"]  # worker2's visit: worker3 may not record it (quarantined)
    records = {"good": started(good), "stray": stray.event("visit_started", {"visit_id": elsewhere})}
    answers = {}
    threads = [pushing(app, blocker, [started(blocker)], answers)]
    assert held.entered.wait(WAIT)
    threads += [pushing(app, good, [records["good"]], answers), pushing(app, stray, [records["stray"]], answers)]
    queued(app, 2)
    held.release()
    for thread in threads:
        thread.join(WAIT)
    assert statuses(answers["worker2"]) == ["applied"] and statuses(answers["worker3"]) == ["rejected"]
    with app.app_context():
        assert db.session.query(Event).filter_by(id=records["good"]["id"]).count() == 1
        assert db.session.query(QuarantinedEvent).filter_by(id=records["stray"]["id"]).count() == 1
        assert db.session.query(Event).filter_by(id=records["stray"]["id"]).count() == 0


def test_a_group_that_fails_as_a_whole_stores_nothing_and_each_push_is_taken_again_alone(app, auth, monkeypatch,
                                                                                       caplog):
    held = HeldDatabase(app, monkeypatch)
    real_store, failed = ingest._pg_store_new, []

    def store(rows, first, after, conn=None):
        if len({row["user_id"] for row in rows}) > 1 and not failed:  # the shared transaction breaks
            real_store(rows, first, after[:-1], conn=conn)  # written, not committed
            failed.append(len(rows))
            raise RuntimeError("deadlock detected")
        return real_store(rows, first, after, conn=conn)

    monkeypatch.setattr(ingest, "_pg_store_new", store)
    blocker, *others = phones(auth, "worker1", "worker2", "worker3")
    records = {s.user["username"]: started(s) for s in others}
    answers = {}
    threads = [pushing(app, blocker, [started(blocker)], answers)]
    assert held.entered.wait(WAIT)
    threads += [pushing(app, s, [records[s.user["username"]]], answers) for s in others]
    queued(app, 2)
    held.release()
    for thread in threads:
        thread.join(WAIT)
    assert failed == [2]
    assert {name: statuses(answers[name]) for name in records} == {name: ["applied"] for name in records}
    stored = transactions(app, [e["id"] for e in records.values()])
    assert len(stored) == 2 and len(set(stored.values())) == 2  # each in a transaction of its own
    assert "a group of 2 pushes failed" in caplog.text


def test_a_record_two_pushes_of_one_group_send_is_stored_by_the_first_and_the_second_is_taken_after(app, auth,
                                                                                                  monkeypatch):
    """One id in two workers' pushes of one group (a copied outbox, say): one statement cannot store it twice, so
    the second push leaves the group and runs after it, when the record is there to be seen."""
    held = HeldDatabase(app, monkeypatch)
    blocker, first, second, third = phones(auth, "worker1", "worker2", "worker3", "worker4")
    shared_id = started(first)["id"]
    records = {"worker2": started(first, id_=shared_id), "worker3": started(second, id_=shared_id),
               "worker4": started(third)}
    answers = {}
    threads = [pushing(app, blocker, [started(blocker)], answers)]
    assert held.entered.wait(WAIT)
    threads += [pushing(app, s, [records[s.user["username"]]], answers) for s in (first, second, third)]
    queued(app, 3)
    held.release()
    for thread in threads:
        thread.join(WAIT)
    assert statuses(answers["worker2"]) == ["applied"] and statuses(answers["worker4"]) == ["applied"]
    assert statuses(answers["worker3"]) == ["rejected"]  # another record under an id already taken
    assert held.calls == [1, 3, 1]
    stored = transactions(app, [shared_id, records["worker4"]["id"]])
    assert len(set(stored.values())) == 1  # worker2's and worker4's: the group's one transaction
    with app.app_context():
        assert db.session.query(Event).filter_by(id=shared_id).one().user_id == first.user["id"]


def test_a_push_whose_workers_lock_is_held_elsewhere_leaves_the_group_and_waits_alone(app, auth, monkeypatch):
    """A group takes its workers' locks without waiting: a push whose worker's lock another transaction holds (an
    administrator's, another process's push) is taken by itself after the group, and waits for the lock there —
    the rest of its group is stored meanwhile."""
    from server.ingest import WORKER_LOCK_NAMESPACE
    held = HeldDatabase(app, monkeypatch)
    blocker, waiting, other = phones(auth, "worker1", "worker2", "worker3")
    records = {"worker2": started(waiting), "worker3": started(other)}
    answers = {}
    with app.app_context(), db.engine.connect() as holder:  # another transaction holds worker2's lock
        holder.execute(text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                       {"ns": WORKER_LOCK_NAMESPACE, "id": waiting.user["id"]})
        threads = [pushing(app, blocker, [started(blocker)], answers)]
        assert held.entered.wait(WAIT)
        threads += [pushing(app, s, [records[s.user["username"]]], answers) for s in (waiting, other)]
        queued(app, 2)
        held.release()
        threads[2].join(WAIT)
        assert statuses(answers["worker3"]) == ["applied"]  # stored while worker2's push waits
        assert threads[1].is_alive()
        holder.rollback()  # the lock is free
    for thread in threads:
        thread.join(WAIT)
    assert statuses(answers["worker2"]) == ["applied"]
    assert held.calls == [1, 2, 1]  # worker2's push left its group and ran by itself
