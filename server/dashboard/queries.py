"""The dashboard figures, computed in the database (aggregates over indexed columns), one function per view.

Every function takes the viewer's unit id and `now` (tests pass a fixed moment) and returns plain dicts.
"""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, false, func, literal, or_, select, true
from sqlalchemy.exc import IntegrityError

from sync import events as ev

from ..extensions import db
from ..models import Client, Device, Event, QuarantinedEvent, Registration, User, Visit, visit_workers
from . import outage_figures
from .models import BacklogSnapshot


def zone():
    """The configured time zone: calendar days, trend buckets and CSV times are local."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def _dialect():
    return db.session.get_bind().dialect.name


def seconds_between(later, earlier):
    """Elapsed seconds between two timestamp columns, spelled for the current database."""
    if _dialect() == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def local_days(now, days):
    """The last `days` calendar days in the configured zone, oldest first, ending today."""
    today = now.astimezone(zone()).date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def day_start_utc(day):
    """Midnight of a local calendar day as a UTC instant (a DST day is 23 or 25 hours long)."""
    return datetime.combine(day, time(0), tzinfo=zone()).astimezone(timezone.utc)


def day_bucket(column, days):
    """The index of the local day a timestamp falls in, as a CASE over exact UTC boundaries.

    Works alike on SQLite (no time-zone support) and PostgreSQL, and stays correct across DST changes.
    """
    bounds = [day_start_utc(d + timedelta(days=1)) for d in days]
    return case(*[(column < bound, literal(i)) for i, bound in enumerate(bounds)], else_=literal(None))


def _worker_devices(unit_id):
    """Live devices of the unit's workers (managers' and administrators' browsers are not phones)."""
    return (select(Device.id).join(User, User.id == Device.user_id)
            .where(Device.unit_id == unit_id, Device.revoked_at.is_(None), User.role == "worker"))


def _silent_cutoff(now):
    return now - timedelta(minutes=current_app.config["DEVICE_SILENT_MINUTES"])


def backlog_totals(unit_id, now):
    """Records waiting on the unit's phones, from each phone's last status block, and silent phones."""
    cutoff = _silent_cutoff(now)
    pending = func.coalesce(Device.status_pending, 0)
    quarantined = (select(func.count()).select_from(QuarantinedEvent)
                   .where(QuarantinedEvent.unit_id == unit_id, QuarantinedEvent.state == "open").scalar_subquery())
    row = db.session.execute(
        select(func.count(Device.id),
               func.coalesce(func.sum(pending), 0),
               func.count(case((pending > 0, 1))),
               func.min(case((pending > 0, Device.status_oldest_pending_at))),
               func.count(case((or_(Device.last_seen_at.is_(None), Device.last_seen_at < cutoff), 1))),
               quarantined)
        .join(User, User.id == Device.user_id)
        .where(Device.unit_id == unit_id, Device.revoked_at.is_(None), User.role == "worker")).one()
    quarantined = row[5]
    oldest = row[3]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    return {
        "devices": row[0],
        "pending_records": int(row[1]),
        "devices_with_pending": row[2],
        "oldest_pending_at": oldest,
        "oldest_pending_seconds": None if oldest is None else max(0, int((now - oldest).total_seconds())),
        "silent_devices": row[4],
        "quarantined_open": quarantined,
    }


def backlog_devices(unit_id, now, limit):
    """The unit's phones, the most worrying first: most records waiting, then longest silent."""
    cutoff = _silent_cutoff(now)
    pending = func.coalesce(Device.status_pending, 0)
    rows = db.session.execute(
        select(Device.id, Device.name, User.id, User.display_name, pending, Device.status_oldest_pending_at,
               Device.last_seen_at, Device.status_app_version, Device.status_reported_at, Device.last_skew_seconds)
        .join(User, User.id == Device.user_id)
        .where(Device.unit_id == unit_id, Device.revoked_at.is_(None), User.role == "worker")
        .order_by(pending.desc(), Device.status_oldest_pending_at.asc().nulls_last(),
                  Device.last_seen_at.asc().nulls_first(), Device.id)
        .limit(limit)).all()
    out = []
    for r in rows:
        silent = r[6] is None or r[6] < cutoff
        out.append({
            "device_id": r[0], "device_name": r[1], "worker": {"id": r[2], "display_name": r[3]},
            "pending": r[4], "oldest_pending_at": r[5] if r[4] else None,
            "oldest_pending_seconds": int((now - r[5]).total_seconds()) if r[4] and r[5] else None,
            "last_contact_at": r[6],
            "silent_seconds": None if r[6] is None else int((now - r[6]).total_seconds()),
            "silent": silent, "app_version": r[7], "status_reported_at": r[8],
            "skew_seconds": r[9],
        })
    return out


_UNSET = object()


def record_snapshot(unit_id, now, totals, min_interval_seconds=300, snap=_UNSET):
    """Keep today's backlog figures for the trend (at most every few minutes; the last one of a day stays).

    `snap`: today's row if the caller has already read it (None: there is none yet)."""
    day = now.astimezone(zone()).date()
    if snap is _UNSET:
        snap = db.session.execute(select(BacklogSnapshot).where(BacklogSnapshot.unit_id == unit_id,
                                                                BacklogSnapshot.day == day)).scalar_one_or_none()
    if snap is not None and snap.taken_at is not None and snap.pending_records is not None \
            and (now - snap.taken_at).total_seconds() < min_interval_seconds:
        return snap
    if snap is None:
        snap = BacklogSnapshot(unit_id=unit_id, day=day)
        db.session.add(snap)
    snap.taken_at = now
    for name in ("devices", "pending_records", "devices_with_pending", "silent_devices",
                 "oldest_pending_seconds", "quarantined_open"):
        setattr(snap, name, totals[name])
    try:
        db.session.commit()
    except IntegrityError:  # another request took today's snapshot at the same moment: keep theirs
        db.session.rollback()
    return snap


def _delay_stats(unit_id, days):
    """Per local day of a contiguous run of days: how many device records arrived, and how long they had
    waited on the phone (average, longest), aggregated in the database over the (unit, received_at) index."""
    bucket = day_bucket(Event.received_at, days).label("bucket")
    delay = seconds_between(Event.received_at, Event.occurred_at_corrected)
    rows = db.session.execute(
        select(bucket, func.count().label("n"), func.avg(delay).label("avg"), func.max(delay).label("max"))
        .where(Event.unit_id == unit_id, Event.source == ev.SOURCE_DEVICE,
               Event.received_at >= day_start_utc(days[0]),
               Event.received_at < day_start_utc(days[-1] + timedelta(days=1)))
        .group_by(bucket)).all()
    stats = {day: (0, None, None) for day in days}
    for r in rows:
        if r.bucket is not None:
            stats[days[r.bucket]] = (r.n, None if r.avg is None else round(max(0.0, float(r.avg)), 1),
                                     None if r.max is None else round(max(0.0, float(r.max)), 1))
    return stats


def _keep_final_stats(unit_id, snaps, stats, now):
    """Store the delay figures of finished days once; a concurrent request storing the same is harmless."""
    for day, (n, avg, longest) in stats.items():
        snap = snaps.get(day)
        if snap is None:
            snap = BacklogSnapshot(unit_id=unit_id, day=day, taken_at=now)
            db.session.add(snap)
            snaps[day] = snap
        snap.synced_records, snap.avg_sync_delay_seconds, snap.max_sync_delay_seconds = n, avg, longest
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def trends(unit_id, now, days, today_totals=None):
    """Per local day: backlog size (snapshots; today: live) and how long records waited on the phones."""
    labels = local_days(now, days)
    today = labels[-1]
    snaps = dict(db.session.execute(
        select(BacklogSnapshot.day, BacklogSnapshot)
        .where(BacklogSnapshot.unit_id == unit_id, BacklogSnapshot.day >= labels[0])).all())
    if today_totals is not None:  # today's point of the trend is kept as it is looked at
        snaps[today] = record_snapshot(unit_id, now, today_totals, snap=snaps.get(today))
    unsettled = [d for d in labels[:-1] if snaps.get(d) is None or snaps[d].synced_records is None]
    stats = _delay_stats(unit_id, labels[labels.index(unsettled[0]) if unsettled else -1:])
    final = {d: stats[d] for d in unsettled}
    if final:
        _keep_final_stats(unit_id, snaps, final, now)
    out = []
    for day in labels:
        snap = snaps.get(day)
        backlog = {k: getattr(snap, k) for k in ("pending_records", "devices_with_pending", "silent_devices")} \
            if snap is not None else {}
        if day == today and today_totals is not None:
            backlog = today_totals
        n, avg, longest = stats[day] if day in stats else (snap.synced_records, snap.avg_sync_delay_seconds,
                                                           snap.max_sync_delay_seconds)
        out.append({
            "day": day.isoformat(),
            "pending_records": backlog.get("pending_records"),
            "devices_with_pending": backlog.get("devices_with_pending"),
            "silent_devices": backlog.get("silent_devices"),
            "synced_records": n,
            "avg_sync_delay_seconds": None if avg is None else round(avg),
            "max_sync_delay_seconds": None if longest is None else round(longest),
        })
    return out


def _coming_shifts(unit_id, now):
    """Per worker: the visits of the coming shift (now … now + READINESS_SHIFT_HOURS), as a subquery.

    Visits in progress count too; one that started more than a shift's length ago is not looked for, which
    bounds the (unit, planned_start) index range instead of reading the unit's whole history.
    """
    horizon = now + timedelta(hours=current_app.config["READINESS_SHIFT_HOURS"])
    return (select(visit_workers.c.worker_id.label("worker_id"),
                   func.min(Visit.planned_start).label("shift_start"),
                   func.max(Visit.planned_end).label("shift_end"),
                   func.count().label("visits"))
            .join(Visit, Visit.id == visit_workers.c.visit_id)
            .where(Visit.unit_id == unit_id, Visit.cancelled.is_(false()), Visit.planned_end > now,
                   Visit.planned_start >= now - timedelta(hours=current_app.config["READINESS_SHIFT_HOURS"]),
                   Visit.planned_start < horizon)
            .group_by(visit_workers.c.worker_id).subquery())


def readiness(unit_id, now, limit):
    """The TakeCare twice-daily check, automated: each phone's offline-copy age and coverage of the shift."""
    limit_minutes = current_app.config["COPY_AGE_WARN_MINUTES"]
    stale_before = now - timedelta(minutes=limit_minutes)
    shifts = _coming_shifts(unit_id, now)
    live = and_(Device.unit_id == unit_id, Device.revoked_at.is_(None), User.role == "worker")
    covers = or_(shifts.c.shift_end.is_(None), Device.copy_covers_until >= shifts.c.shift_end)
    state = case((Device.last_pull_at.is_(None), "missing"), (Device.last_pull_at < stale_before, "stale"),
                 (~covers, "short"), else_="ok")
    counts = dict(db.session.execute(
        select(state, func.count()).select_from(Device).join(User, User.id == Device.user_id)
        .outerjoin(shifts, shifts.c.worker_id == Device.user_id).where(live).group_by(state)).all())
    rows = db.session.execute(
        select(Device.id, Device.name, User.id, User.display_name, Device.last_pull_at, Device.copy_covers_until,
               Device.last_seen_at, shifts.c.shift_start, shifts.c.shift_end, shifts.c.visits, state)
        .select_from(Device).join(User, User.id == Device.user_id)
        .outerjoin(shifts, shifts.c.worker_id == Device.user_id).where(live)
        .order_by(Device.last_pull_at.asc().nulls_first(), Device.id).limit(limit)).all()
    devices = [{
        "device_id": r[0], "device_name": r[1], "worker": {"id": r[2], "display_name": r[3]},
        "copy_as_of": r[4], "copy_age_seconds": None if r[4] is None else int((now - r[4]).total_seconds()),
        "covers_until": r[5], "last_contact_at": r[6],
        "shift": None if r[7] is None else {"start": r[7], "end": r[8], "visits": r[9]},
        "covers_shift": r[8] is None or (r[5] is not None and r[5] >= r[8]),
        "state": r[10],
    } for r in rows]
    return {"copy_age_limit_minutes": limit_minutes,
            "counts": {s: counts.get(s, 0) for s in ("ok", "stale", "short", "missing")},
            "devices": devices, "without_data": without_data(unit_id, now, shifts)}


def without_data(unit_id, now, shifts=None):
    """"If the system went down now, who would be without data?" Workers with visits in the coming shift
    and no live phone whose offline copy reaches the end of that shift."""
    shifts = shifts if shifts is not None else _coming_shifts(unit_id, now)
    best = (select(Device.user_id.label("user_id"), func.max(Device.copy_covers_until).label("covers_until"),
                   func.max(Device.last_pull_at).label("copy_as_of"), func.count().label("devices"))
            .where(Device.unit_id == unit_id, Device.revoked_at.is_(None), Device.last_pull_at.is_not(None))
            .group_by(Device.user_id).subquery())
    rows = db.session.execute(
        select(User.id, User.display_name, shifts.c.shift_start, shifts.c.shift_end, shifts.c.visits,
               best.c.covers_until, best.c.copy_as_of)
        .join(shifts, shifts.c.worker_id == User.id)
        .outerjoin(best, best.c.user_id == User.id)
        .where(or_(best.c.covers_until.is_(None), best.c.covers_until < shifts.c.shift_end))
        .order_by(shifts.c.shift_start, User.display_name)).all()
    workers = [{"worker": {"id": r[0], "display_name": r[1]}, "shift": {"start": r[2], "end": r[3], "visits": r[4]},
                "covers_until": r[5], "copy_as_of": r[6],
                "reason": "no_copy" if r[6] is None else "copy_too_short"} for r in rows]
    return {"count": len(workers), "workers": workers}


def gaps(user, now):
    """Gaps by route, overdue self-registrations, open conflicts: from the outages area, when it is installed."""
    return outage_figures.figures(user, now)


# -- access-log review -------------------------------------------------------------------------------------

RECORD_TYPES = (ev.VISIT_STARTED, ev.VISIT_ENDED, ev.INTERVENTION_RECORDED)


def visits_in_period(unit_id, start, end):
    return select(Visit.id).where(Visit.unit_id == unit_id, Visit.planned_start >= start, Visit.planned_start < end)


def registration_rows(unit_id, start, end, conflict_pairs=None):
    """Registrations of the unit's visits planned in [start, end), with source and flags, for billing.

    `conflict_pairs`: the open backfill-versus-device conflicts as (visit_id, worker_id), as the outages
    area judges them; without it, a visit with both a device record and a backfill counts as a conflict.
    """
    in_period = visits_in_period(unit_id, start, end)
    post_registration = Event.payload["post_registration"].as_boolean()
    facts = (select(Event.visit_id.label("visit_id"), Event.user_id.label("user_id"),
                    func.max(case((Event.source == ev.SOURCE_BACKFILL, 1), else_=0)).label("backfill"),
                    func.max(case((Event.source == ev.SOURCE_DEVICE, 1), else_=0)).label("device"),
                    func.max(case((Event.skew_flagged.is_(true()), 1), else_=0)).label("skew"),
                    func.max(case((and_(Event.source == ev.SOURCE_DEVICE, post_registration.is_(true())), 1),
                                  else_=0)).label("self_reg"))
             .where(Event.visit_id.in_(in_period), Event.type.in_(RECORD_TYPES))
             .group_by(Event.visit_id, Event.user_id).subquery())
    q_visit = QuarantinedEvent.raw["payload"]["visit_id"].as_integer()
    quarantined = (select(q_visit.label("visit_id"), QuarantinedEvent.user_id.label("user_id"))
                   .where(QuarantinedEvent.unit_id == unit_id, QuarantinedEvent.state == "open")
                   .group_by(q_visit, QuarantinedEvent.user_id).subquery())
    worker = User.__table__.alias("worker")
    stmt = (select(Visit.id, Visit.planned_start, Visit.planned_end, Client.name, worker.c.display_name,
                   worker.c.username, Registration.started_at, Registration.ended_at, Registration.started_source,
                   Registration.ended_source, facts.c.backfill, facts.c.device, facts.c.skew, facts.c.self_reg,
                   quarantined.c.visit_id, Registration.worker_id)
            .select_from(Registration)
            .join(Visit, Visit.id == Registration.visit_id)
            .join(Client, Client.id == Visit.client_id)
            .join(worker, worker.c.id == Registration.worker_id)
            .outerjoin(facts, and_(facts.c.visit_id == Registration.visit_id,
                                   facts.c.user_id == Registration.worker_id))
            .outerjoin(quarantined, and_(quarantined.c.visit_id == Registration.visit_id,
                                         quarantined.c.user_id == Registration.worker_id))
            .where(Visit.unit_id == unit_id, Visit.planned_start >= start, Visit.planned_start < end)
            .order_by(Visit.planned_start, Visit.id, worker.c.display_name))
    for r in db.session.execute(stmt):
        sources = {r[8], r[9]} - {None}
        if ev.SOURCE_BACKFILL in sources:
            source = "backfill"
        elif r[13]:
            source = "self_registration"
        else:
            source = "device"
        minutes = None
        if r[6] is not None and r[7] is not None:
            minutes = round((r[7] - r[6]).total_seconds() / 60)
        yield {"visit_id": r[0], "planned_start": r[1], "planned_end": r[2], "client": r[3], "worker": r[4],
               "username": r[5], "started_at": r[6], "ended_at": r[7], "minutes": minutes, "source": source,
               "clock_skew": bool(r[12]), "quarantined": r[14] is not None,
               "conflict": bool(r[10] and r[11]) if conflict_pairs is None else (r[0], r[15]) in conflict_pairs}
