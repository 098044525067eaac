"""Outages proposed from evidence: the server's own silence (heartbeats) and devices that failed to sync."""
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import or_, select

from sync import rules
from sync.outages import EVIDENCE_FAILED_SYNCS, EVIDENCE_HEARTBEAT, DeviceFailure, failed_sync_proposals, \
    heartbeat_gap

from ..dbutil import insert
from ..extensions import db
from ..models import Device, Unit, utcnow
from .models import Heartbeat, Outage


def heartbeat(now=None, name="web"):
    """Write the server's pulse; on the first beat after a silence, propose the silence as an outage."""
    now = now or utcnow()
    cfg = current_app.config
    # Every server process beats under the same name: the first insert wins, and the row lock makes a
    # second process wait and then see the fresh beat, so one silence is proposed once, not per worker.
    db.session.execute(insert(Heartbeat.__table__).values(name=name, beat_at=now)
                       .on_conflict_do_nothing(index_elements=["name"]))
    row = db.session.execute(select(Heartbeat).where(Heartbeat.name == name).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    gap = heartbeat_gap(row.beat_at, now, timedelta(seconds=cfg["OUTAGE_HEARTBEAT_MAX_SILENCE"]))
    proposal = None
    if gap is not None:
        unit_ids = db.session.scalars(select(Unit.id).order_by(Unit.id)).all()
        proposal = propose(unit_ids, gap.start, gap.end, {"kind": EVIDENCE_HEARTBEAT, "last_beat": gap.start.isoformat(),
                                                          "next_beat": gap.end.isoformat()}, "technical")
    row.beat_at = max(row.beat_at, now)
    return proposal


def propose_from_device_failures(now):
    """Windows in which several devices of a unit reported failed syncs become proposals (once each)."""
    cfg = current_app.config
    since = now - timedelta(hours=cfg["OUTAGE_EVIDENCE_LOOKBACK_HOURS"])
    failures = []
    for device in db.session.scalars(select(Device).where(Device.status_reported_at >= since,
                                                          Device.status_extra.is_not(None))):
        failure = _failure(device, since, now)
        if failure is not None:
            failures.append(failure)
    made = []
    for p in failed_sync_proposals(failures, cfg["OUTAGE_EVIDENCE_MIN_DEVICES"]):
        outage = propose([p.unit_id], p.window.start, p.window.end,
                          {"kind": EVIDENCE_FAILED_SYNCS, "devices": len(p.device_ids)}, "network")
        if outage is not None:
            made.append(outage)
    return made


def _failure(device, since, now):
    """A device's failed-sync window, when what it reported is plausible evidence. A phone reports what its
    clock and app say: an unreadable time, one in the future or before the lookback is no evidence — and never
    an error that would break the outage list for everyone."""
    extra = device.status_extra or {}
    if not extra.get("failed_syncs") or not isinstance(extra.get("last_failed_sync_at"), str):
        return None
    try:
        last = datetime.fromisoformat(extra["last_failed_sync_at"].replace("Z", "+00:00"))
        if last.tzinfo is None:
            return None
        last = last.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # not ISO 8601, or year 1 / 9999 pushed past the calendar by its offset
        return None
    if not since <= last <= now:
        return None
    first = device.status_oldest_pending_at
    first = last if first is None or first > last else max(first, since)
    return DeviceFailure(device.id, device.unit_id, first, last)


def propose(unit_ids, start, end, evidence, fault_type):
    """A proposed outage, unless one (of any status) already covers this window for these units."""
    overlapping = db.session.scalar(
        select(Outage.id).join(Outage.units).where(
            Unit.id.in_(unit_ids), Outage.started_at < end,
            or_(Outage.ended_at.is_(None), Outage.ended_at > start)).limit(1))
    if overlapping is not None or not unit_ids:
        return None
    outage = Outage(kind=rules.UNPLANNED, status="proposed", title="Föreslaget driftstopp", started_at=start,
                    ended_at=end, evidence=evidence, fault_type=fault_type, created_at=utcnow(), updated_at=utcnow())
    outage.units = [db.session.get(Unit, u) for u in unit_ids]
    db.session.add(outage)
    db.session.flush()
    return outage
