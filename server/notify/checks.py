"""Scheduled checks the push worker runs every minute; each fact is enqueued once thanks to its dedupe key.

Each check is fn(now): it enqueues and returns how many it added. `run_checks` names every one of them.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, select

from ..extensions import db
from ..models import Device, User
from .models import PushNotification
from .outbox import enqueue
from .recipients import staff_of

def stale_offline_copies(now):
    """A device in use whose offline copy is older than the limit: tell its worker, once per copy."""
    cfg = current_app.config
    limit = timedelta(minutes=cfg["COPY_AGE_WARN_MINUTES"])
    in_use_since = now - timedelta(hours=cfg["PUSH_STALE_COPY_ACTIVE_HOURS"])
    devices = db.session.execute(
        select(Device.id, Device.user_id, Device.last_pull_at)
        .join(User, User.id == Device.user_id)
        .where(Device.revoked_at.is_(None), User.active.is_(True), User.role == "worker",
               Device.last_pull_at.is_not(None), Device.last_pull_at < now - limit,
               Device.last_seen_at >= in_use_since)).all()
    added = 0
    for device_id, user_id, last_pull_at in devices:
        age = int((now - last_pull_at).total_seconds() // 60)
        added += enqueue("offline_copy_stale", [user_id], {"age_minutes": age}, device_id=device_id,
                         dedupe_key=f"{device_id}@{last_pull_at.isoformat()}", now=now)
    db.session.commit()
    return added


def planned_outage_reminders(now):
    """The day before a planned outage (from PUSH_REMINDER_HOUR local time): "uppdatera din offlinekopia"."""
    from ..outages.models import Outage
    cfg = current_app.config
    tz = ZoneInfo(cfg["TIMEZONE"])
    local_now = now.astimezone(tz)
    if local_now.hour < cfg["PUSH_REMINDER_HOUR"]:
        return 0
    tomorrow = local_now.date() + timedelta(days=1)
    first = datetime.combine(tomorrow, time(0), tz)
    after = datetime.combine(tomorrow + timedelta(days=1), time(0), tz)
    outages = db.session.scalars(select(Outage).where(
        Outage.kind == "planned", Outage.status == "confirmed", Outage.ended_at.is_(None),
        Outage.started_at >= first, Outage.started_at < after)).all()
    added = 0
    for outage in outages:
        # Keyed by the start: an outage moved to another day is reminded again, for its new day.
        added += enqueue("outage_reminder", staff_of([u.id for u in outage.units]),
                         {"starts_at": outage.started_at},
                         dedupe_key=f"outage-{outage.id}-{outage.started_at.isoformat()}", now=now)
    db.session.commit()
    return added


def planned_outages_started(now):
    """A planned outage's announced start has come: "Driftstopp pågår" (unplanned ones are told when declared)."""
    from ..outages.models import Outage
    outages = db.session.scalars(select(Outage).where(
        Outage.kind == "planned", Outage.status == "confirmed", Outage.ended_at.is_(None),
        Outage.started_at <= now, Outage.started_at > now - timedelta(hours=1))).all()
    added = 0
    for outage in outages:
        added += enqueue("outage_started", staff_of([u.id for u in outage.units]),
                         dedupe_key=f"outage-{outage.id}", now=now)
    db.session.commit()
    return added


def prune_old_notifications(now):
    """The outbox is not an archive: rows past their lifetime and older than PUSH_KEEP_DAYS go (deliveries too)."""
    cutoff = now - timedelta(days=current_app.config["PUSH_KEEP_DAYS"])
    result = db.session.execute(delete(PushNotification).where(PushNotification.created_at < cutoff,
                                                               PushNotification.expires_at < now))
    db.session.commit()
    return max(0, result.rowcount or 0)  # rows removed, for the worker's report


def run_checks(now):
    added = {}
    for check in (stale_offline_copies, planned_outage_reminders, planned_outages_started, prune_old_notifications):
        try:
            added[check.__name__] = check(now)
        except Exception:  # one broken check must not stop the others, nor delivery
            db.session.rollback()
            current_app.logger.exception("push check %s failed", check.__name__)
    return added
