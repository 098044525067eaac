"""Domain checks on single events, with a hand-written fake for the facts."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from sync import events as ev
from sync.personnummer import is_valid, make
from sync.protocol import clock_skew, corrected

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


class FakeFacts:
    def __init__(self, visits=(), clients=None, locks=None, notes=None):
        self.visits = {v.id: v for v in visits}
        self.clients = clients or {}
        self.locks = locks or {}
        self.notes = notes or {}

    def visit(self, visit_id):
        return self.visits.get(visit_id)

    def client_unit(self, client_id):
        return self.clients.get(client_id)

    def note_client(self, note_id):
        return self.notes.get(note_id)

    def lock_date(self, unit_id):
        return self.locks.get(unit_id)


VISIT = ev.VisitFacts(id=10, unit_id=1, client_id=5, worker_ids=frozenset({7, 8}),
                      intervention_ids=frozenset({3}), planned_start=NOW, former_worker_ids=frozenset({6}))
FACTS = FakeFacts([VISIT], clients={5: 1, 6: 2}, notes={"n5": 5, "n6": 6})


def event(type_, **payload):
    return ev.Event("e1", type_, NOW, 1, payload)


@pytest.mark.parametrize("e, worker, unit, code", [
    (event(ev.VISIT_STARTED, visit_id=10), 7, 1, None),
    (event(ev.VISIT_STARTED, visit_id=10), 8, 1, None),  # the partner on a double-staffed visit
    (event(ev.VISIT_STARTED, visit_id=99), 7, 1, "unknown_visit"),
    (event(ev.VISIT_STARTED, visit_id=10), 9, 1, "not_your_visit"),
    (event(ev.VISIT_STARTED, visit_id=10), 7, 2, None),  # on it, since moved to unit 2: delivers to unit 1
    (event(ev.VISIT_STARTED, visit_id=10), 6, 1, None),  # taken off it after recording offline: delivers
    (event(ev.VISIT_STARTED, visit_id=10), 9, 2, "not_your_visit"),  # another unit's worker, never on it
    (event(ev.INTERVENTION_RECORDED, visit_id=10, intervention_id=4, status="done"), 7, 1, "unknown_intervention"),
    (event(ev.NOTE_ADDED, client_id=5, text="x"), 7, 1, None),
    (event(ev.NOTE_ADDED, client_id=6, text="x"), 7, 1, "client_out_of_scope"),
    (event(ev.CLIENT_RECORD_OPENED, client_id=404, view="overview"), 7, 1, "unknown_client"),
    (event(ev.DEVIATION_REPORTED, category="outage", description="TES nere"), 7, 1, None),
    (event(ev.HANDOVER_ACKNOWLEDGED, note_id="n5", client_id=5), 7, 1, None),  # "Läst" on a note of the unit
    (event(ev.HANDOVER_ACKNOWLEDGED, note_id="n6", client_id=5), 7, 1, "unknown_note"),  # another client's
    (event(ev.HANDOVER_ACKNOWLEDGED, note_id="nx", client_id=5), 7, 1, "unknown_note"),
    (event(ev.HANDOVER_ACKNOWLEDGED, note_id="n6", client_id=6), 7, 1, "client_out_of_scope"),
])
def test_check(e, worker, unit, code):
    rejection = ev.check(e, worker, unit, FACTS, TZ)
    assert (rejection.code if rejection else None) == code


def test_records_before_the_lock_date_are_rejected_for_quarantine():
    facts = FakeFacts([VISIT], locks={1: date(2026, 11, 24)})
    rejection = ev.check(event(ev.VISIT_STARTED, visit_id=10), 7, 1, facts, TZ)
    assert rejection.code == "before_lock_date" and "2026-11-24" in rejection.message


def test_lock_date_uses_the_local_calendar_day():
    # 23:30 UTC on the 23rd is already the 24th in Stockholm: not before a lock date of the 24th.
    late = ev.Event("e", ev.VISIT_STARTED, datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc), 1, {"visit_id": 10})
    assert ev.check(late, 7, 1, FakeFacts([VISIT], locks={1: date(2026, 11, 24)}), TZ) is None


def test_clock_skew_corrects_device_time():
    device_clock = datetime(2026, 11, 23, 8, 50, tzinfo=timezone.utc)  # ten minutes slow
    skew = clock_skew(NOW, device_clock)
    assert skew == 600
    assert corrected(datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc), skew) == datetime(2026, 11, 23, 8, 10,
                                                                                          tzinfo=timezone.utc)


def test_demo_personal_numbers_are_valid_and_impossible():
    assert is_valid("18020202-0202")  # the routines' own test patient
    number = make(1845, 6, 17, 123)
    assert is_valid(number) and number.startswith("1845")
    assert not is_valid(number[:-1] + str((int(number[-1]) + 1) % 10))
