"""server.push_groups: pushes that arrive while a group is at the database wait and go together in the next group
— at most one per worker, at most `limit` — and every push gets its own answer, whatever happens to its group.
Threads stand in for gevent's greenlets (both wait on threading's primitives)."""
import threading
import time

import pytest

from server import push_groups
from server.push_groups import ALONE, PushGroups

WAIT = 10  # seconds at most for what must happen


class Database:
    """A `run` for PushGroups that records each group and answers each member with its work. Held (`hold`), each
    group waits at the database until the test lets one through (`step`) or all (`release`); `fail_next` makes
    the next group to go through fail."""

    def __init__(self):
        self.groups, self.entered, self._steps = [], threading.Semaphore(0), threading.Semaphore(0)
        self._held = False
        self.fail_next = None

    def hold(self):
        self._held = True

    def step(self):
        self._steps.release()

    def release(self):
        self._held = False
        self._steps.release(100)

    def __call__(self, group):
        self.groups.append([m.work for m in group])
        self.entered.release()
        if self._held:
            assert self._steps.acquire(timeout=WAIT)
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        for member in group:
            member.answer = f"stored {member.work}"


def submit_in_thread(groups, work, key, answers):
    def push():
        try:
            answers[work] = groups.submit(work, key)
        except Exception as exc:  # noqa: BLE001 - the test looks at what each push got
            answers[work] = exc
    thread = threading.Thread(target=push)
    thread.start()
    return thread


def queued(groups, n):
    """Wait until `n` pushes wait in the queue."""
    deadline = time.monotonic() + WAIT
    while len(groups._queue) < n:
        assert time.monotonic() < deadline, f"{len(groups._queue)} queued, expected {n}"
        time.sleep(0.001)


def test_a_push_alone_is_a_group_of_one():
    database = Database()
    groups = PushGroups(database, patience=WAIT)
    assert groups.submit("a", 1) == "stored a"
    assert database.groups == [["a"]]
    assert groups._running == 0 and not groups._queue


def test_pushes_arriving_while_a_group_is_at_the_database_go_together_next():
    database, answers = Database(), {}
    groups = PushGroups(database, patience=WAIT)
    database.hold()
    first = submit_in_thread(groups, "a", 1, answers)
    assert database.entered.acquire(timeout=WAIT)  # "a" is at the database
    later = [submit_in_thread(groups, work, key, answers) for work, key in (("b", 2), ("c", 3), ("d", 4))]
    queued(groups, 3)
    database.release()
    for thread in [first, *later]:
        thread.join(WAIT)
    assert database.groups == [["a"], ["b", "c", "d"]]
    assert answers == {w: f"stored {w}" for w in "abcd"}
    assert (groups.groups, groups.members) == (2, 4) and groups._running == 0


def test_a_group_takes_one_push_per_worker_and_at_most_its_limit():
    database, answers = Database(), {}
    groups = PushGroups(database, limit=2, patience=WAIT)
    database.hold()
    first = submit_in_thread(groups, "a", 1, answers)
    assert database.entered.acquire(timeout=WAIT)
    later = []
    for work, key in (("b", 1), ("c", 1), ("d", 2), ("e", 3)):  # b and c: the same worker as each other
        later.append(submit_in_thread(groups, work, key, answers))
        queued(groups, len(later))  # in this order
    database.release()
    for thread in [first, *later]:
        thread.join(WAIT)
    # b and d (c is b's worker's; the limit leaves e), then c and e
    assert database.groups == [["a"], ["b", "d"], ["c", "e"]]
    assert answers == {w: f"stored {w}" for w in "abcde"}


def test_a_failing_group_raises_for_its_leader_answers_the_rest_alone_and_the_next_group_runs():
    database, answers = Database(), {}
    groups = PushGroups(database, patience=WAIT)
    database.hold()
    first = submit_in_thread(groups, "a", 1, answers)
    assert database.entered.acquire(timeout=WAIT)
    second = [submit_in_thread(groups, work, key, answers) for work, key in (("b", 2), ("c", 3))]
    queued(groups, 2)
    database.step()  # "a" through
    first.join(WAIT)
    assert database.entered.acquire(timeout=WAIT)  # b and c are at the database
    third = submit_in_thread(groups, "d", 4, answers)
    queued(groups, 1)
    database.fail_next = RuntimeError("deadlock detected")
    database.release()
    for thread in [*second, third]:
        thread.join(WAIT)
    assert answers["a"] == "stored a"
    assert str(answers["b"]) == "deadlock detected"  # the leader of the failed group: its caller answers
    assert answers["c"] is ALONE  # nothing stored: it runs again by itself
    assert answers["d"] == "stored d"  # the group after it was not held up
    assert database.groups == [["a"], ["b", "c"], ["d"]] and groups._running == 0


def test_under_concurrency_every_push_is_answered_once_and_no_group_holds_one_worker_twice():
    database, answers = Database(), {}
    groups = PushGroups(database, limit=5)
    threads = [submit_in_thread(groups, f"p{i}", i % 7, answers) for i in range(200)]
    for thread in threads:
        thread.join(WAIT)
    assert answers == {f"p{i}": f"stored p{i}" for i in range(200)}
    assert sorted(w for group in database.groups for w in group) == sorted(answers)
    for group in database.groups:
        keys = [int(w[1:]) % 7 for w in group]
        assert len(keys) == len(set(keys)) and len(group) <= 5
    assert groups._running == 0 and not groups._queue


def test_a_push_killed_while_it_waits_leaves_the_queue_and_the_next_group_a_leader(monkeypatch):
    """A waiting push whose wait is interrupted (gunicorn stopping a worker) must not leave its place behind:
    had it been made the next leader, every later push would wait forever."""
    class Killable(threading.Event):
        def wait(self, timeout=None):
            if threading.current_thread().name == "killed":
                assert super().wait(WAIT)  # made the next leader, then killed before it leads
                raise KeyboardInterrupt
            return super().wait(timeout)

    monkeypatch.setattr(push_groups.threading, "Event", Killable)
    database, answers = Database(), {}
    groups = PushGroups(database, patience=WAIT)
    database.hold()
    first = submit_in_thread(groups, "a", 1, answers)
    assert database.entered.acquire(timeout=WAIT)
    killed = threading.Thread(target=lambda: pytest.raises(KeyboardInterrupt, groups.submit, "b", 2), name="killed")
    killed.start()
    queued(groups, 1)
    after = submit_in_thread(groups, "c", 3, answers)
    queued(groups, 2)
    database.release()  # "b", first in the queue, is made the next leader and killed before it leads
    for thread in (first, killed, after):
        thread.join(WAIT)
    assert answers == {"a": "stored a", "c": "stored c"}
    assert database.groups == [["a"], ["c"]] and groups._running == 0 and not groups._queue


def test_a_slow_group_holds_up_the_next_only_for_its_patience():
    """A push that waits at the database (its worker's lock is held elsewhere) must not hold up the process: the
    next leader waits at most `patience`, then its group goes beside the slow one."""
    groups_seen, at_database, lock_released, answers = [], threading.Event(), threading.Event(), {}

    def run(group):
        groups_seen.append([m.work for m in group])
        if "a" in groups_seen[-1]:
            at_database.set()
            assert lock_released.wait(WAIT)
        for member in group:
            member.answer = f"stored {member.work}"

    groups = PushGroups(run, patience=0.05)
    slow = submit_in_thread(groups, "a", 1, answers)
    assert at_database.wait(WAIT)
    behind = [submit_in_thread(groups, work, key, answers) for work, key in (("b", 2), ("c", 3))]
    for thread in behind:
        thread.join(WAIT)
    assert answers == {"b": "stored b", "c": "stored c"} and slow.is_alive()
    assert groups_seen[0] == ["a"] and sorted(w for g in groups_seen[1:] for w in g) == ["b", "c"]
    lock_released.set()
    slow.join(WAIT)
    assert answers["a"] == "stored a" and groups._running == 0 and groups._next is None and not groups._queue
