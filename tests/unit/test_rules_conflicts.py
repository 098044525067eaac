"""Backfill first, device record later: both kept, the conflict shown, the device record effective."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sync import conflicts as c
from sync import events as ev
from sync.projection import Registration, apply_to_registration, rank_key

STHLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2026, 2, 10, 7, 0, tzinfo=timezone.utc)


def recorded(field, value, source, event_id, corrected_at):
    return c.Recorded(field, value, source, event_id, rank_key(source, corrected_at, event_id))


def test_backfill_first_then_device_record_is_a_conflict_with_the_device_record_effective():
    # The administrator backfills from a paper form on day 2; the phone's record from day 1 syncs on day 3.
    backfill = recorded(c.FIELD_STARTED, T0 + timedelta(minutes=5), ev.SOURCE_BACKFILL, "b1", T0 + timedelta(days=1))
    device = recorded(c.FIELD_STARTED, T0 + timedelta(minutes=12), ev.SOURCE_DEVICE, "d1", T0 + timedelta(minutes=12))
    [conflict] = c.field_conflicts([backfill, device])
    assert conflict.effective == device and conflict.differs and not conflict.resolved
    assert conflict.backfill == backfill  # kept, not overwritten
    text = c.explain(conflict, STHLM)
    assert "Telefonens registrering gäller tills någon beslutar annat" in text
    assert "08.12" in text and "08.05" in text


def test_the_projection_agrees_on_which_record_is_effective():
    reg = Registration(visit_id=1, worker_id=3)
    bkey = rank_key(ev.SOURCE_BACKFILL, T0 + timedelta(days=1), "b1")
    dkey = rank_key(ev.SOURCE_DEVICE, T0 + timedelta(minutes=12), "d1")
    reg = apply_to_registration(reg, ev.VISIT_STARTED, T0 + timedelta(minutes=5), bkey, ev.SOURCE_BACKFILL)
    reg = apply_to_registration(reg, ev.VISIT_STARTED, T0 + timedelta(minutes=12), dkey, ev.SOURCE_DEVICE)
    assert reg.started_source == ev.SOURCE_DEVICE and reg.started_at == T0 + timedelta(minutes=12)


def test_same_values_within_the_tolerance_are_not_a_real_disagreement():
    backfill = recorded(c.FIELD_ENDED, T0 + timedelta(minutes=30), ev.SOURCE_BACKFILL, "b1", T0 + timedelta(days=1))
    device = recorded(c.FIELD_ENDED, T0 + timedelta(minutes=31), ev.SOURCE_DEVICE, "d1", T0 + timedelta(minutes=31))
    [conflict] = c.field_conflicts([device, backfill])
    assert not conflict.differs
    assert "stämmer överens" in c.explain(conflict, STHLM)


def test_only_one_source_is_no_conflict():
    a = recorded(c.FIELD_STARTED, T0, ev.SOURCE_DEVICE, "d1", T0)
    b = recorded(c.FIELD_STARTED, T0 + timedelta(minutes=9), ev.SOURCE_DEVICE, "d2", T0 + timedelta(minutes=9))
    assert c.field_conflicts([a, b]) == []


def test_a_resolution_for_the_backfill_outranks_the_device_record_and_keeps_both():
    backfill = recorded(c.FIELD_STARTED, T0 + timedelta(minutes=5), ev.SOURCE_BACKFILL, "b1", T0 + timedelta(days=1))
    device = recorded(c.FIELD_STARTED, T0 + timedelta(minutes=40), ev.SOURCE_DEVICE, "d1", T0 + timedelta(minutes=40))
    resolution = recorded(c.FIELD_STARTED, T0 + timedelta(minutes=5), c.SOURCE_RESOLUTION, "r1", T0 + timedelta(days=2))
    [conflict] = c.field_conflicts([backfill, device, resolution])
    assert conflict.resolved and conflict.effective == resolution
    assert conflict.device == device and conflict.backfill == backfill


def test_interventions_conflict_on_status_not_on_comment():
    f = c.intervention_field(9)
    backfill = recorded(f, {"status": "done", "comment": "enligt blankett"}, ev.SOURCE_BACKFILL, "b1", T0)
    device = recorded(f, {"status": "not_done", "reason": "declined"}, ev.SOURCE_DEVICE, "d1", T0)
    [conflict] = c.field_conflicts([backfill, device])
    assert conflict.differs
    assert "inte utförd (declined)" in c.explain(conflict, STHLM)
