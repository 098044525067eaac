"""Outages proposed from evidence, for an administrator to confirm: the server's own silence (a heartbeat gap)
and windows in which several devices of one unit could not sync.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Optional

FAULT_TYPES = ("technical", "upgrade", "it_environment", "external_provider", "power_or_cable", "network", "other")
EVIDENCE_HEARTBEAT = "server_heartbeat_gap"
EVIDENCE_FAILED_SYNCS = "device_failed_syncs"
ANNOUNCE_DAYS_AHEAD = 7  # seed 004: planned outages are normally announced seven days ahead


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def heartbeat_gap(last_beat: Optional[datetime], now: datetime, max_silence: timedelta) -> Optional[Window]:
    """The window the server was down, if its last heartbeat is older than `max_silence`."""
    if last_beat is None or now - last_beat <= max_silence:
        return None
    return Window(last_beat, now)


@dataclass(frozen=True)
class DeviceFailure:
    device_id: str
    unit_id: int
    start: datetime  # the first moment it could not sync (its oldest unsent record, else its last failure)
    end: datetime    # its last failed attempt


@dataclass(frozen=True)
class Proposal:
    unit_id: int
    window: Window
    device_ids: tuple


def failed_sync_proposals(failures: Iterable[DeviceFailure], min_devices: int) -> list:
    """Per unit, merge overlapping failure windows; a merged window that `min_devices` distinct devices
    contributed to is proposed as an outage (one phone in a dead spot is not an outage, several are)."""
    by_unit = {}
    for f in failures:
        by_unit.setdefault(f.unit_id, []).append(f)
    proposals = []
    for unit_id in sorted(by_unit):
        cluster, start, end = [], None, None
        for f in sorted(by_unit[unit_id], key=lambda f: f.start):
            if cluster and f.start > end:
                proposals.extend(_proposal(unit_id, cluster, start, end, min_devices))
                cluster = []
            if not cluster:
                start, end = f.start, f.end
            cluster.append(f)
            end = max(end, f.end)
        if cluster:
            proposals.extend(_proposal(unit_id, cluster, start, end, min_devices))
    return proposals


def _proposal(unit_id, cluster, start, end, min_devices):
    devices = tuple(sorted({f.device_id for f in cluster}))
    return [Proposal(unit_id, Window(start, end), devices)] if len(devices) >= min_devices else []


def overlaps(a: Window, b_start: datetime, b_end: Optional[datetime]) -> bool:
    return a.start < (b_end or a.end + timedelta(seconds=1)) and b_start < a.end


def known_window(started_at: datetime, ended_at: Optional[datetime], expected_end: Optional[datetime],
                 now: datetime) -> Window:
    """What an outage is known to cover: until its real end once it has ended; else at least up to the present
    (it is still going) and up to its announced end — the present instant included, so an outage entered
    "from now" while another is running overlaps it."""
    if ended_at is not None:
        return Window(started_at, ended_at)
    return Window(started_at, max(now, expected_end or started_at, started_at) + timedelta(microseconds=1))


def windows_overlap(a: Window, b: Window) -> bool:
    """Two known windows share time (touching end to start is not sharing)."""
    return a.start < b.end and b.start < a.end


def short_notice(starts_at: datetime, announced_at: datetime, days: int = ANNOUNCE_DAYS_AHEAD) -> bool:
    """A planned outage announced later than the routine's seven days ahead (allowed, but said)."""
    return starts_at - announced_at < timedelta(days=days)
