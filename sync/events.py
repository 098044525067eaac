"""The event envelope devices record, and the domain checks an event must pass to enter the log.

Structure (fields, types, enums) is checked at the HTTP edge by marshmallow; what is checked here needs
facts about the world: does the visit exist, is it this worker's, is the client in the worker's unit.
A failed check rejects only that event; the caller keeps it in quarantine with the code and message.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional, Protocol

VISIT_STARTED = "visit_started"
VISIT_ENDED = "visit_ended"
INTERVENTION_RECORDED = "intervention_recorded"
NOTE_ADDED = "note_added"
DEVIATION_REPORTED = "deviation_reported"
CLIENT_RECORD_OPENED = "client_record_opened"
GAP_HANDED_OVER = "gap_handed_over"
HANDOVER_ACKNOWLEDGED = "handover_acknowledged"  # "Läst": a handover note (note_added, handover) was read

EVENT_TYPES = (VISIT_STARTED, VISIT_ENDED, INTERVENTION_RECORDED, NOTE_ADDED, DEVIATION_REPORTED,
               CLIENT_RECORD_OPENED, GAP_HANDED_OVER, HANDOVER_ACKNOWLEDGED)
VISIT_EVENTS = (VISIT_STARTED, VISIT_ENDED, INTERVENTION_RECORDED, GAP_HANDED_OVER)

NOT_DONE_REASONS = ("declined", "client_absent", "other")
DEVIATION_CATEGORIES = ("fall", "medication", "missed_visit", "outage", "injury", "other")
RECORD_VIEWS = ("overview", "person_card", "care_plan", "medication_list")

# A time set by hand ("adjustable with a reason") differs from when it was recorded.
ADJUSTMENT_TOLERANCE = timedelta(minutes=2)

SOURCE_DEVICE = "device"
SOURCE_BACKFILL = "backfill"
SOURCE_RESOLUTION = "resolution"  # an administrator chose the backfill over a device record (sync.conflicts)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    occurred_at: datetime  # as the device said, aware
    device_seq: int
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VisitFacts:
    id: int
    unit_id: int
    client_id: int
    worker_ids: frozenset
    intervention_ids: frozenset
    planned_start: datetime
    former_worker_ids: frozenset = frozenset()  # taken off it (re-staffed, moved to another unit)


@dataclass(frozen=True)
class Rejection:
    code: str
    message: str


class Facts(Protocol):
    """What the checks need to know; the server answers from the database, tests from a dict."""

    def visit(self, visit_id: int) -> Optional[VisitFacts]: ...

    def client_unit(self, client_id: int) -> Optional[int]: ...

    def note_client(self, note_id: str) -> Optional[int]:
        """The client of the stored note (note_added) with this event id, None if there is none."""

    def lock_date(self, unit_id: int): ...


def visit_time(event: Event) -> datetime:
    """The moment a visit event is about: the hand-set `at`, else when it was recorded."""
    at = event.payload.get("at")
    return at if isinstance(at, datetime) else event.occurred_at


def check(event: Event, worker_id: int, unit_id: int, facts: Facts, tz) -> Optional[Rejection]:
    """Return why `event` by `worker_id` of `unit_id` cannot enter the log, or None if it can."""
    p = event.payload
    if event.type in VISIT_EVENTS:
        visit = facts.visit(p["visit_id"])
        if visit is None:
            return Rejection("unknown_visit", f"Besöket {p['visit_id']} finns inte.")
        if worker_id not in visit.worker_ids | visit.former_worker_ids:
            # A worker taken off a visit, or moved to another unit, made these records before they knew:
            # they deliver, to the visit's unit. Anyone else's are refused.
            return Rejection("not_your_visit", "Besöket hör till en annan enhet." if visit.unit_id != unit_id
                             else "Besöket är inte schemalagt för dig.")
        unit_id = visit.unit_id
        if event.type == INTERVENTION_RECORDED and p["intervention_id"] not in visit.intervention_ids:
            return Rejection("unknown_intervention", "Insatsen är inte planerad för besöket.")
        # Start and end are about their own moment; an intervention or a hand-over is about the visit's period.
        about = visit_time(event) if event.type in (VISIT_STARTED, VISIT_ENDED) else visit.planned_start
    else:
        client_id = p.get("client_id")
        about = event.occurred_at
        if client_id is not None:
            client_unit = facts.client_unit(client_id)
            if client_unit is None:
                return Rejection("unknown_client", f"Brukaren {client_id} finns inte.")
            if client_unit != unit_id:
                return Rejection("client_out_of_scope", "Brukaren hör till en annan enhet.")
        if event.type == HANDOVER_ACKNOWLEDGED and facts.note_client(p["note_id"]) != client_id:
            return Rejection("unknown_note", "Anteckningen finns inte för brukaren.")
        if p.get("visit_id") is not None:
            visit = facts.visit(p["visit_id"])
            if visit is None or visit.unit_id != unit_id:
                return Rejection("unknown_visit", f"Besöket {p['visit_id']} finns inte i din enhet.")
    lock = facts.lock_date(unit_id)
    if lock is not None and about.astimezone(tz).date() < lock:
        return Rejection("before_lock_date",
                         f"Perioden före spärrdatum {lock.isoformat()} är låst; en administratör hanterar posten.")
    return None
