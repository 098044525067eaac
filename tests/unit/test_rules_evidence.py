"""Outages proposed from evidence: the server's own silence and several phones of a unit failing together."""
from datetime import datetime, timedelta, timezone

from sync.outages import DeviceFailure, Window, failed_sync_proposals, heartbeat_gap, short_notice

T = datetime(2026, 2, 10, 6, 0, tzinfo=timezone.utc)


def test_a_silence_longer_than_allowed_is_the_servers_downtime():
    assert heartbeat_gap(T, T + timedelta(minutes=30), timedelta(minutes=5)) == Window(T, T + timedelta(minutes=30))


def test_a_short_silence_or_a_first_start_is_not():
    assert heartbeat_gap(T, T + timedelta(minutes=5), timedelta(minutes=5)) is None
    assert heartbeat_gap(None, T, timedelta(minutes=5)) is None


def fail(device, unit, start_min, end_min):
    return DeviceFailure(device, unit, T + timedelta(minutes=start_min), T + timedelta(minutes=end_min))


def test_overlapping_failures_of_two_phones_in_one_unit_are_one_proposal():
    [p] = failed_sync_proposals([fail("a", 1, 0, 60), fail("b", 1, 30, 90)], min_devices=2)
    assert p.unit_id == 1 and p.device_ids == ("a", "b")
    assert p.window == Window(T, T + timedelta(minutes=90))


def test_one_phone_in_a_dead_spot_is_not_an_outage():
    assert failed_sync_proposals([fail("a", 1, 0, 60), fail("a", 1, 30, 90)], min_devices=2) == []


def test_phones_of_different_units_or_times_do_not_add_up():
    failures = [fail("a", 1, 0, 60), fail("b", 2, 0, 60), fail("c", 1, 120, 150)]
    assert failed_sync_proposals(failures, min_devices=2) == []


def test_chained_overlaps_make_one_window_per_unit():
    failures = [fail("a", 1, 0, 30), fail("b", 1, 20, 50), fail("c", 1, 45, 80), fail("d", 2, 0, 10), fail("e", 2, 5, 9)]
    proposals = failed_sync_proposals(failures, min_devices=3)
    assert [(p.unit_id, p.device_ids, p.window.end - p.window.start) for p in proposals] == \
        [(1, ("a", "b", "c"), timedelta(minutes=80))]


def test_a_planned_outage_announced_less_than_seven_days_ahead_is_short_notice():
    assert short_notice(T + timedelta(days=6), T)
    assert not short_notice(T + timedelta(days=7), T)
