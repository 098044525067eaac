"""Backfill versus device record for the same visit and worker: both are kept, the conflict is shown, and the
device record (first-hand evidence) is effective until an administrator decides otherwise.

The effective value is always the one with the highest projection rank (`sync.projection.rank_key`), so this
module and the projection can never disagree: a device record outranks a backfill, and an administrator's
resolution in favour of the backfill is itself appended to the log as a `resolution` record, which outranks
both. Nothing is deleted; the decision is one more entry in the log.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Optional

from . import events as ev

SOURCE_RESOLUTION = ev.SOURCE_RESOLUTION
CHOICES = ("device", "backfill")  # which of the two records an administrator declares effective

# Two times closer than this are the same registration written down twice (a paper form rounds minutes).
SAME_TIME_TOLERANCE = timedelta(minutes=2)

FIELD_STARTED = "started_at"
FIELD_ENDED = "ended_at"


def intervention_field(intervention_id) -> str:
    return f"intervention:{intervention_id}"


FIELD_OF_TYPE = {ev.VISIT_STARTED: FIELD_STARTED, ev.VISIT_ENDED: FIELD_ENDED}


@dataclass(frozen=True)
class Recorded:
    """One value of one field of a registration, as one event in the log recorded it."""

    field: str
    value: object      # a datetime for start/end; {"status", "reason", "comment"} for an intervention
    source: str        # device | backfill | resolution
    event_id: str
    rank_key: str
    recorded_by: Optional[int] = None  # the administrator, for backfills and resolutions
    received_at: Optional[datetime] = None


@dataclass(frozen=True)
class FieldConflict:
    field: str
    device: Recorded
    backfill: Recorded
    effective: Recorded
    differs: bool      # False: both say the same thing (within the tolerance) and nothing needs deciding
    resolved: bool     # an administrator has chosen (a resolution record exists, or confirmed the device one)


def _same(a, b) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs(a - b) <= SAME_TIME_TOLERANCE
    if isinstance(a, dict) and isinstance(b, dict):
        return a.get("status") == b.get("status") and a.get("reason") == b.get("reason")
    return a == b


def field_conflicts(records: Iterable[Recorded], confirmed_fields=()) -> list:
    """Every field of one visit-and-worker registration that has both a device and a backfill record."""
    by_field = {}
    for r in records:
        by_field.setdefault(r.field, []).append(r)
    conflicts = []
    for name in sorted(by_field):
        rows = by_field[name]
        device = max((r for r in rows if r.source == ev.SOURCE_DEVICE), key=lambda r: r.rank_key, default=None)
        backfill = max((r for r in rows if r.source == ev.SOURCE_BACKFILL), key=lambda r: r.rank_key, default=None)
        if device is None or backfill is None:
            continue
        effective = max(rows, key=lambda r: r.rank_key)
        resolution = any(r.source == SOURCE_RESOLUTION for r in rows)
        conflicts.append(FieldConflict(name, device, backfill, effective, differs=not _same(device.value, backfill.value),
                                       resolved=resolution or name in confirmed_fields))
    return conflicts


def _show(value, tz) -> str:
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%H.%M")
    if isinstance(value, dict):
        status = {"done": "utförd", "not_done": "inte utförd"}.get(value.get("status"), value.get("status"))
        return status + (f" ({value['reason']})" if value.get("reason") else "")
    return str(value)


FIELD_SV = {FIELD_STARTED: "start", FIELD_ENDED: "slut"}


def explain(conflict: FieldConflict, tz) -> str:
    """Plain Swedish for the administrator's conflict list."""
    what = FIELD_SV.get(conflict.field, "insats")
    device, backfill = _show(conflict.device.value, tz), _show(conflict.backfill.value, tz)
    if not conflict.differs:
        return f"Både telefonen och efterregistreringen anger {what} {device}; de stämmer överens."
    winner = {"device": "Telefonens registrering", "backfill": "Efterregistreringen",
              SOURCE_RESOLUTION: "Efterregistreringen (enligt beslut)"}[conflict.effective.source]
    tail = "" if conflict.resolved else " tills någon beslutar annat"
    return (f"Telefonen anger {what} {device}, efterregistreringen {backfill}. {winner} gäller{tail}. "
            f"Båda posterna sparas.")
