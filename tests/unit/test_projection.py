"""The projection is a fold over the log that does not depend on arrival order."""
import itertools
import random
from datetime import datetime, timedelta, timezone

from sync import events as ev
from sync.projection import Registration, apply_to_registration, rank_key, replay

T0 = datetime(2026, 3, 29, 6, 0, tzinfo=timezone.utc)


def record(event_type, minute, event_id, source="device", visit_id=1, worker_id=7, **payload):
    at = T0 + timedelta(minutes=minute)
    payload = {"visit_id": visit_id, **payload}
    return event_type, payload, worker_id, at, rank_key(source, at, event_id), source


def test_later_correction_wins_over_earlier_start():
    log = [record(ev.VISIT_STARTED, 0, "a"), record(ev.VISIT_STARTED, 5, "b")]
    regs, _ = replay(log)
    assert regs[(1, 7)].started_at == T0 + timedelta(minutes=5)


def test_device_record_outranks_a_later_backfill():
    log = [record(ev.VISIT_STARTED, 3, "device-1"), record(ev.VISIT_STARTED, 60, "admin-1", source="backfill")]
    regs, _ = replay(log)
    assert regs[(1, 7)].started_source == "device"
    assert regs[(1, 7)].started_at == T0 + timedelta(minutes=3)


def test_replay_gives_the_same_state_in_every_order():
    log = [record(ev.VISIT_STARTED, 0, "a"), record(ev.VISIT_ENDED, 30, "b"), record(ev.VISIT_STARTED, 2, "c"),
           record(ev.INTERVENTION_RECORDED, 10, "d", intervention_id=3, status="done"),
           record(ev.INTERVENTION_RECORDED, 12, "e", intervention_id=3, status="not_done", reason="declined"),
           record(ev.VISIT_STARTED, 1, "f", source="backfill"), record(ev.VISIT_ENDED, 31, "g", worker_id=8)]
    expected = replay(log)
    for order in itertools.islice(itertools.permutations(log), 0, 5040, 97):
        assert replay(order) == expected
    rng = random.Random(5)
    for _ in range(50):
        shuffled = log[:]
        rng.shuffle(shuffled)
        assert replay(shuffled) == expected
    regs, outcomes = expected
    assert outcomes[(1, 7, 3)].status == "not_done" and outcomes[(1, 7, 3)].reason == "declined"
    assert regs[(1, 8)].ended_at == T0 + timedelta(minutes=31) and regs[(1, 8)].started_at is None


def test_an_older_record_arriving_late_does_not_overwrite():
    reg = Registration(1, 7)
    newer = rank_key("device", T0 + timedelta(minutes=5), "b")
    older = rank_key("device", T0, "a")
    reg = apply_to_registration(reg, ev.VISIT_STARTED, T0 + timedelta(minutes=5), newer, "device")
    reg = apply_to_registration(reg, ev.VISIT_STARTED, T0, older, "device")
    assert reg.started_key == newer
