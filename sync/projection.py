"""Current state — registrations per visit and worker — as a fold over the event log.

Each field keeps the record with the highest rank key `(source rank, corrected time, event id)`:
a device record outranks an administrator's backfill (first-hand evidence), a later correction
outranks an earlier one. Because the key is a total order, the fold is order-independent: applying
events incrementally as they sync and replaying the whole log give the same state.
"""
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Optional

from . import events as ev

SOURCE_RANK = {ev.SOURCE_BACKFILL: 0, ev.SOURCE_DEVICE: 1, ev.SOURCE_RESOLUTION: 2}


def rank_key(source: str, corrected_at: datetime, event_id: str) -> str:
    """A string that sorts like the tuple; stored next to each projected field."""
    utc = corrected_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{SOURCE_RANK[source]}|{utc}|{event_id}"


@dataclass(frozen=True)
class Registration:
    visit_id: int
    worker_id: int
    started_at: Optional[datetime] = None
    started_key: Optional[str] = None
    started_source: Optional[str] = None
    ended_at: Optional[datetime] = None
    ended_key: Optional[str] = None
    ended_source: Optional[str] = None


@dataclass(frozen=True)
class InterventionOutcome:
    visit_id: int
    worker_id: int
    intervention_id: int
    status: Optional[str] = None
    reason: Optional[str] = None
    comment: Optional[str] = None
    key: Optional[str] = None
    source: Optional[str] = None


def _wins(new_key: str, old_key: Optional[str]) -> bool:
    return old_key is None or new_key > old_key


def apply_to_registration(reg: Registration, event_type: str, at: datetime, key: str, source: str) -> Registration:
    if event_type == ev.VISIT_STARTED and _wins(key, reg.started_key):
        return replace(reg, started_at=at, started_key=key, started_source=source)
    if event_type == ev.VISIT_ENDED and _wins(key, reg.ended_key):
        return replace(reg, ended_at=at, ended_key=key, ended_source=source)
    return reg


def apply_to_intervention(out: InterventionOutcome, payload: dict, key: str, source: str) -> InterventionOutcome:
    if not _wins(key, out.key):
        return out
    return replace(out, status=payload["status"], reason=payload.get("reason"),
                   comment=payload.get("comment"), key=key, source=source)


def replay(records):
    """Fold a whole log. `records` yields (event_type, payload, worker_id, at, key, source).

    Returns ({(visit, worker): Registration}, {(visit, worker, intervention): InterventionOutcome}).
    """
    regs, outcomes = {}, {}
    for event_type, payload, worker_id, at, key, source in records:
        if event_type in (ev.VISIT_STARTED, ev.VISIT_ENDED):
            k = (payload["visit_id"], worker_id)
            regs[k] = apply_to_registration(regs.get(k) or Registration(*k), event_type, at, key, source)
        elif event_type == ev.INTERVENTION_RECORDED:
            k = (payload["visit_id"], worker_id, payload["intervention_id"])
            outcomes[k] = apply_to_intervention(outcomes.get(k) or InterventionOutcome(*k), payload, key, source)
    return regs, outcomes
