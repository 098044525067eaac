"""The background jobs (server/jobs.py): each due job runs once, a job another worker holds is skipped, a
failure is recorded, and retention never removes access-log rows younger than five years."""
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

from server import jobs
from server.extensions import db
from server.jobs import Job, JobRun
from server.models import AccessLog, utcnow


def test_each_due_job_runs_once_and_then_waits_its_period(app):
    with app.app_context():
        jobs.ensure_jobs()
        first = jobs.run_once("worker-a", log=lambda _: None)
        second = jobs.run_once("worker-b", log=lambda _: None)
        runs = db.session.scalars(select(JobRun).order_by(JobRun.id)).all()
        schedule = {job.name: job.next_run_at for job in db.session.scalars(select(Job))}
    assert sorted(first["jobs"]) == sorted(jobs.SCHEDULE)
    assert second["jobs"] == []
    assert sorted(r.job for r in runs) == sorted(jobs.SCHEDULE)
    assert {(r.worker, r.outcome) for r in runs} == {("worker-a", "ok")}
    for run in runs:
        period = app.config[jobs.SCHEDULE[run.job][0]]
        assert schedule[run.job] == run.started_at + timedelta(seconds=period)


def test_a_job_switched_off_is_not_scheduled(app):
    app.config["DASHBOARD_SNAPSHOT_SECONDS"] = 0
    with app.app_context():
        jobs.ensure_jobs()
        ran = jobs.run_once("worker-a", log=lambda _: None)["jobs"]
        assert db.session.get(Job, "trend_snapshots") is None
    assert "trend_snapshots" not in ran and "outage_pulse" in ran


def test_a_failing_job_is_recorded_and_the_others_still_run(app, monkeypatch):
    def broken(now):
        raise RuntimeError("the snapshot broke")

    monkeypatch.setitem(jobs.SCHEDULE, "trend_snapshots", ("DASHBOARD_SNAPSHOT_SECONDS", broken))
    with app.app_context():
        jobs.ensure_jobs()
        jobs.run_once("worker-a", log=lambda _: None)
        outcomes = {r.job: (r.outcome, r.detail) for r in db.session.scalars(select(JobRun))}
        retry_at = db.session.get(Job, "trend_snapshots").next_run_at
    assert outcomes["trend_snapshots"] == ("failed", "RuntimeError('the snapshot broke')")
    succeeded = {job for job, (outcome, _) in outcomes.items() if outcome == "ok"}
    assert succeeded == set(jobs.SCHEDULE) - {"trend_snapshots"}
    assert retry_at > utcnow()  # tried again next period, not in a tight loop


def test_retention_keeps_access_logs_five_years_whatever_is_configured(app):
    app.config["ACCESS_LOG_RETENTION_DAYS"] = 30
    now = utcnow()
    with app.app_context():
        for age in (timedelta(days=40), timedelta(days=4 * 365), timedelta(days=6 * 365)):
            db.session.add(AccessLog(at=now - age, action="GET /api/clients/1", unit_id=1))
        db.session.commit()
        jobs.ensure_jobs()
        jobs.run_once("worker-a", log=lambda _: None)
        kept = sorted((now - at).days for at in db.session.scalars(select(AccessLog.at)))
        [run] = db.session.scalars(select(JobRun).where(JobRun.job == "retention")).all()
    assert kept == [40, 4 * 365]
    assert run.detail.startswith("access log: removed 20")


def test_a_job_another_worker_holds_is_skipped_not_waited_for(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; on SQLite one worker runs the jobs")
    with app.app_context():
        jobs.ensure_jobs()
        other_worker = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with other_worker.connect() as held:
            held.execute(text("SELECT name FROM jobs WHERE name = 'outage_pulse' FOR UPDATE"))
            ran = jobs.run_once("worker-a", log=lambda _: None)["jobs"]
        other_worker.dispose()
        assert "outage_pulse" not in ran and "push_checks" in ran
        assert jobs.run_once("worker-a", log=lambda _: None)["jobs"] == ["outage_pulse"]  # released: now it runs
