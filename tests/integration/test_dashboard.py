"""The dashboards' database side on real SQLite and PostgreSQL: the migration, local-day buckets across DST,
and the cron commands (daily snapshot, access-log retention)."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import inspect

from server.dashboard import queries
from server.dashboard.models import BacklogSnapshot
from server.extensions import db
from server.models import AccessLog, Unit, utcnow
from tests.support import dashboard_data as dd

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM).astimezone(timezone.utc)


def test_the_migration_creates_the_dashboard_tables_and_indexes(app):
    with app.app_context():
        inspector = inspect(db.engine)
        assert {"access_checks", "backlog_snapshots"} <= set(inspector.get_table_names())
        access_log = {ix["name"] for ix in inspector.get_indexes("access_log")}
        assert {"ix_access_log_unit_at", "ix_access_log_at", "ix_access_log_denied_client"} <= access_log
        events = {ix["name"] for ix in inspector.get_indexes("events")}
        assert {"ix_events_visit_user", "ix_events_unit_source"} <= events
        assert "ix_devices_unit_revoked" in {ix["name"] for ix in inspector.get_indexes("devices")}


def _delays_around(app, day_before, dst_day, day_after):
    """Events received just before and after local midnights of a DST change; returns per-day counts."""
    with app.app_context():
        crafted = dd.build(now=local(day_after, 12))
        worker = crafted.workers[0]
        received = [local(day_before, 23, 30), local(dst_day, 0, 30), local(dst_day, 23, 30),
                    local(day_after, 0, 15), local(day_after, 0, 45)]
        for at in received:
            dd.add_event(worker, occurred=at - timedelta(minutes=10), received=at)
        db.session.commit()
        days = queries.trends(crafted.unit.id, crafted.now, 3)
        return [(d["day"], d["synced_records"], d["avg_sync_delay_seconds"]) for d in days]


def test_days_are_local_days_when_summer_time_starts(app):
    # 29 March 2026: clocks go from 02:00 to 03:00, the day has 23 hours.
    days = _delays_around(app, date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30))
    assert days == [("2026-03-28", 1, 600), ("2026-03-29", 2, 600), ("2026-03-30", 2, 600)]


def test_days_are_local_days_when_summer_time_ends(app):
    # 25 October 2026: clocks go from 03:00 back to 02:00, the day has 25 hours.
    days = _delays_around(app, date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26))
    assert days == [("2026-10-24", 1, 600), ("2026-10-25", 2, 600), ("2026-10-26", 2, 600)]


def test_day_start_is_local_midnight(app):
    with app.app_context():
        assert queries.day_start_utc(date(2026, 3, 30)) == datetime(2026, 3, 29, 22, tzinfo=timezone.utc)
        assert queries.day_start_utc(date(2026, 3, 29)) == datetime(2026, 3, 28, 23, tzinfo=timezone.utc)


def test_snapshot_command_keeps_todays_backlog_of_every_unit(app, runner):
    with app.app_context():
        crafted = dd.build()
        dd.add_device(crafted.workers[0], "aby-phone-cron", now=crafted.now, pending=6,
                      oldest_pending=timedelta(hours=1), seen=timedelta(minutes=5))
        db.session.commit()
        unit_id, units = crafted.unit.id, db.session.query(Unit).count()
    result = runner.invoke(args=["dashboard-snapshot"])
    assert result.exit_code == 0, result.output
    assert "Hemtjänst Åby: 6 väntande poster på 1 enheter" in result.output
    runner.invoke(args=["dashboard-snapshot"])  # twice the same day: one row per unit and day
    with app.app_context():
        assert db.session.query(BacklogSnapshot).count() == units
        snap = db.session.query(BacklogSnapshot).filter_by(unit_id=unit_id).one()
        assert (snap.pending_records, snap.devices_with_pending, snap.devices) == (6, 1, 1)


def test_prune_removes_only_access_log_months_past_retention_and_archives_them(app, runner, tmp_path):
    app.config.update(ACCESS_LOG_RETENTION_DAYS=5 * 366, ACCESS_LOG_ARCHIVE_DIR=str(tmp_path))
    with app.app_context():
        crafted = dd.build()
        worker, client = crafted.workers[0], crafted.clients[0]
        now = utcnow()
        old = now - timedelta(days=5 * 366 + 40)  # its whole month is past retention
        dd.add_access(worker, client, at=old, action="open_overview")
        dd.add_access(worker, client, at=now - timedelta(days=5 * 366 - 2), action="open_care_plan")
        db.session.commit()
        before = db.session.query(AccessLog).count()
    dry = runner.invoke(args=["prune-access-log", "--dry-run"])
    assert f"{old:%Y-%m}" in dry.output and "Skulle tas bort" in dry.output
    with app.app_context():
        assert db.session.query(AccessLog).count() == before
    result = runner.invoke(args=["prune-access-log"])
    assert result.exit_code == 0 and f"{old:%Y-%m} (1 rows)" in result.output
    assert (tmp_path / f"atkomstlogg-{old:%Y-%m}.csv").exists()
    with app.app_context():
        assert db.session.query(AccessLog).count() == before - 1
        assert db.session.query(AccessLog).filter_by(action="open_care_plan").count() == 1
