"""The access log at scale: monthly partitions on PostgreSQL (migration 0014), each month archived as CSV before
retention removes it — never under five years — and a record of every removal."""
import csv
import hashlib
import io
import json
import os
import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from conftest import PG_URL
from server import create_app, jobs
from server.access_log_retention import AccessLogRemoval, month_start, next_month
from server.extensions import db
from server.models import AccessLog, Client, utcnow


def on_postgresql(app):
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def partition_of(row_id):
    return db.session.scalar(text("SELECT tableoid::regclass::text FROM access_log WHERE id = :id"), {"id": row_id})


def add_read(at, client, action="GET /api/clients/<id>"):
    row = AccessLog(at=at, logged_at=at, action=action, unit_id=client.unit_id, client_id=client.id, user_id=1)
    db.session.add(row)
    db.session.flush()
    return row.id


def test_a_new_row_lands_in_its_month_partition(app):
    if not on_postgresql(app):
        pytest.skip("partitions are PostgreSQL's; SQLite keeps one table")
    now = utcnow()
    with app.app_context():
        names = set(db.session.scalars(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'access_log'::regclass")))
        row_id = add_read(now, db.session.scalar(select(Client).limit(1)))
        month = month_start(now)
        expected = {f"access_log_{m:%Y_%m}" for m in (month, next_month(month), next_month(next_month(month)))}
        assert expected <= names and "access_log_default" in names
        assert partition_of(row_id) == f"access_log_{month:%Y_%m}"
        db.session.rollback()


def test_retention_archives_each_month_past_five_years_then_removes_it_and_records_that(app, tmp_path):
    app.config.update(ACCESS_LOG_RETENTION_DAYS=30, ACCESS_LOG_ARCHIVE_DIR=str(tmp_path / "archive"))
    now = utcnow()
    old_month = month_start(now - timedelta(days=6 * 366))
    with app.app_context():
        client = db.session.scalar(select(Client).limit(1))
        personal_number = client.personal_number
        if on_postgresql(app):  # an old month with its own partition, as five years of the job would leave
            db.session.execute(text(f"CREATE TABLE access_log_{old_month:%Y_%m} PARTITION OF access_log FOR VALUES "
                                    f"FROM ('{old_month.isoformat()}') TO ('{next_month(old_month).isoformat()}')"))
        old = [add_read(old_month + timedelta(days=d, hours=9), client) for d in (0, 3, 27)]
        kept = [add_read(now - timedelta(days=4 * 366), client), add_read(now - timedelta(days=40), client)]
        if on_postgresql(app):
            assert {partition_of(i) for i in old} == {f"access_log_{old_month:%Y_%m}"}
        db.session.commit()
        jobs.ensure_jobs()
        jobs.run_once("worker-a", log=lambda _: None)
        left = set(db.session.scalars(select(AccessLog.id)))
        [removal] = db.session.scalars(select(AccessLogRemoval)).all()
        if on_postgresql(app):
            assert db.session.scalar(text(f"SELECT to_regclass('access_log_{old_month:%Y_%m}')")) is None
    assert left >= set(kept) and not left & set(old)
    assert (removal.month, removal.rows) == (f"{old_month:%Y-%m}", 3)
    with open(removal.archive, "rb") as archive:
        content = archive.read()
    assert hashlib.sha256(content).hexdigest() == removal.sha256
    assert oct(os.stat(removal.archive).st_mode & 0o777) == "0o600"  # it names clients
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + 3 and all(personal_number in row for row in rows[1:])


def test_nothing_younger_than_five_years_is_removed_whatever_is_configured(app, tmp_path):
    app.config.update(ACCESS_LOG_RETENTION_DAYS=1, ACCESS_LOG_ARCHIVE_DIR=str(tmp_path / "archive"))
    with app.app_context():
        client = db.session.scalar(select(Client).limit(1))
        ids = [add_read(utcnow() - timedelta(days=days), client) for days in (2, 400, 5 * 365)]
        db.session.commit()
        jobs.ensure_jobs()
        jobs.run_once("worker-a", log=lambda _: None)
        assert set(db.session.scalars(select(AccessLog.id))) >= set(ids)
        assert db.session.scalars(select(AccessLogRemoval)).all() == []


def test_a_month_made_late_takes_its_rows_from_the_default_partition(app):
    if not on_postgresql(app):
        pytest.skip("partitions are PostgreSQL's; SQLite keeps one table")
    from server.access_log_retention import ensure_partitions
    later = month_start(utcnow() + timedelta(days=200))  # past the months made ahead
    with app.app_context():
        row_id = add_read(later + timedelta(days=2), db.session.scalar(select(Client).limit(1)))
        db.session.commit()
        assert partition_of(row_id) == "access_log_default"
        assert f"access_log_{later:%Y_%m}" in ensure_partitions(later)
        assert partition_of(row_id) == f"access_log_{later:%Y_%m}"
        for name in ensure_partitions(later):  # nothing left to make
            pytest.fail(name)


def test_the_review_of_a_day_reads_only_that_months_partition(app, auth):
    if not on_postgresql(app):
        pytest.skip("partitions are PostgreSQL's; SQLite keeps one table")
    manager = auth.login("manager1")
    day = utcnow().astimezone(ZoneInfo(app.config["TIMEZONE"])).date()
    reads = []
    with app.app_context():
        def capture(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT") and "FROM access_log" in statement:
                reads.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            assert manager.get(f"/api/dashboard/access-log?from={day}&to={day}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        assert reads
        with db.engine.connect() as conn:
            scanned = set()
            for statement, parameters in reads:
                [[plan]] = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).all()
                scanned |= set(re.findall(r'"Relation Name": "(access_log[^"]*)"', json.dumps(plan)))
    start = datetime.combine(day, datetime.min.time(), ZoneInfo(app.config["TIMEZONE"]))
    months = {f"access_log_{month_start(start):%Y_%m}", f"access_log_{month_start(start + timedelta(days=1)):%Y_%m}"}
    assert scanned and scanned <= months | {"access_log_default"}, scanned


def test_the_archive_command_exports_a_month_of_every_unit(app, runner, tmp_path):
    month = datetime(2024, 3, 1, tzinfo=timezone.utc)
    with app.app_context():
        clients = db.session.scalars(select(Client).order_by(Client.unit_id.desc(), Client.id)).all()
        north, south = clients[-1], clients[0]
        assert north.unit_id != south.unit_id
        for client in (north, south):
            add_read(month + timedelta(days=10), client)
        add_read(month - timedelta(seconds=1), north, action="outside the month")
        numbers = north.personal_number, south.personal_number
        db.session.commit()
    out = tmp_path / "march.csv"
    result = runner.invoke(args=["access-log-archive", "2024-03", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text_ = out.read_text(encoding="utf-8-sig")
    assert all(number in text_ for number in numbers)
    assert "outside the month" not in text_
    assert runner.invoke(args=["access-log-archive", "2024-13"]).exit_code == 2


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL); CI always sets it")
def test_the_migration_partitions_a_log_that_has_rows_and_the_downgrade_undoes_it(tmp_path, monkeypatch):
    name = f"hv_partition_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    monkeypatch.setenv("HEMVARD_INSTANCE", str(tmp_path))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    moments = [datetime(2023, 1, 31, 23, 59, tzinfo=timezone.utc), datetime(2023, 2, 1, tzinfo=timezone.utc),
               utcnow()]
    try:
        with app.app_context():
            upgrade(revision="0013_jobs")
            for n, at in enumerate(moments):
                db.session.execute(text("INSERT INTO access_log (at, logged_at, action, outcome, offline, event_id) "
                                        "VALUES (:at, :at, 'read', 'allowed', false, :e)"), {"at": at, "e": f"ev-{n}"})
            db.session.commit()
            upgrade(revision="heads")
            placed = db.session.execute(text("SELECT event_id, tableoid::regclass::text FROM access_log "
                                             "ORDER BY at")).all()
            assert placed == [("ev-0", "access_log_2023_01"), ("ev-1", "access_log_2023_02"),
                              ("ev-2", f"access_log_{moments[2]:%Y_%m}")]
            next_id = db.session.scalar(text("INSERT INTO access_log (at, logged_at, action, outcome, offline) "
                                             "VALUES (now(), now(), 'read', 'allowed', false) RETURNING id"))
            assert next_id == 4  # the id sequence carried over
            db.session.commit()
            downgrade(revision="0013_jobs")
            assert db.session.scalar(text("SELECT count(*) FROM access_log")) == 4
            assert db.session.scalar(text("SELECT count(*) FROM pg_partitioned_table")) == 0
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
