"""Background work as jobs, run by `flask worker` processes (any number, on any nodes), never by a web process.

Each periodic job is done once per period whatever the number of workers, with PostgreSQL's own row locks:
every job has a row in `jobs` with its next run time. A worker claims a due row with
`SELECT … FOR UPDATE SKIP LOCKED` on a connection of its own and holds that lock while the job runs (the job
works and commits through `db.session`); then, in the transaction that held the lock, it moves the next run
time and records the run in `job_runs`. Another worker skips a locked row instead of waiting for it. A worker
killed mid-job loses its connection, PostgreSQL releases the lock, and another worker runs the job again:
so every job is idempotent (dedupe keys, row locks, the push outbox's leases) and a run that committed its work
but died before recording it does nothing twice when repeated. Push delivery is not a periodic job but a queue:
every worker polls the outbox, whose per-row leases (`notify/outbox.py`) keep each send to one worker.
On SQLite (`make run`: one worker) the same code runs; SQLite has no FOR UPDATE and needs none.
"""
import os
import signal
import socket
import time
from datetime import timedelta

import click
import requests
from flask import current_app
from sqlalchemy import Integer, String, delete, insert, select, update

from . import dbutil
from .extensions import db
from .models import UTCDateTime, utcnow


class Job(db.Model):
    """One periodic job: when it is next due. Its row lock is the right to run it."""

    __tablename__ = "jobs"
    name = db.Column(String(32), primary_key=True)
    next_run_at = db.Column(UTCDateTime, nullable=False)


class JobRun(db.Model):
    """A finished run of a job (the history operations look at, and what the retention job did)."""

    __tablename__ = "job_runs"
    id = db.Column(Integer, primary_key=True)
    job = db.Column(String(32), nullable=False)
    due_at = db.Column(UTCDateTime, nullable=False)  # the next_run_at it was claimed at: one run per due time
    started_at = db.Column(UTCDateTime, nullable=False)
    finished_at = db.Column(UTCDateTime, nullable=False)
    worker = db.Column(String(100), nullable=False)  # host:pid
    outcome = db.Column(String(16), nullable=False)  # ok | failed
    detail = db.Column(String(500))

    __table_args__ = (db.UniqueConstraint("job", "due_at", name="uq_job_runs_job_due_at"),)


# ---------------------------------------------------------------------------------------------- the jobs

def outage_pulse(now):
    """Heartbeat (a silence becomes a proposed outage), evidence from failing phones, then what the clock
    changes: deadlines that passed (escalations), outages that crossed the threshold, reminders."""
    from .outages import evaluation, evidence
    proposal = evidence.heartbeat(now)
    proposed = evidence.propose_from_device_failures(now)
    reminded = evaluation.tick(now)
    db.session.commit()
    return f"proposed {len(proposed) + bool(proposal)}, reminded {reminded}"


def push_checks(now):
    """The push area's scheduled checks (stale offline copies, planned-outage reminders, old outbox rows)."""
    from .notify.checks import run_checks
    return str(run_checks(now))


def trend_snapshots(now):
    """Today's backlog figures of every unit, for the dashboards' trend (no page view or cron needed)."""
    from .dashboard import queries
    from .models import Unit
    units = db.session.scalars(select(Unit.id).order_by(Unit.id)).all()
    for unit_id in units:
        queries.record_snapshot(unit_id, now, queries.backlog_totals(unit_id, now), min_interval_seconds=0)
    return f"{len(units)} units"


def retention(now):
    """The access log's months past retention (never under five years), archived first; next months'
    partitions made; the run history of the other jobs after JOB_HISTORY_DAYS."""
    from . import access_log_retention
    made = access_log_retention.ensure_partitions(now)
    removed = access_log_retention.expire(now)
    db.session.execute(delete(JobRun).where(JobRun.job != "retention", JobRun.started_at <
                                            now - timedelta(days=current_app.config["JOB_HISTORY_DAYS"])))
    db.session.commit()
    return f"access log: removed {', '.join(removed) or 'nothing'}; new partitions {', '.join(made) or 'none'}"


SCHEDULE = {  # job name: (the setting holding its period in seconds — 0 switches the job off, what it does)
    "outage_pulse": ("OUTAGE_HEARTBEAT_SECONDS", outage_pulse),
    "push_checks": ("PUSH_CHECK_SECONDS", push_checks),
    "trend_snapshots": ("DASHBOARD_SNAPSHOT_SECONDS", trend_snapshots),
    "retention": ("RETENTION_SECONDS", retention),
}


def _period(name):
    return timedelta(seconds=float(current_app.config[SCHEDULE[name][0]]))


def _enabled():
    return [name for name in SCHEDULE if _period(name)]


# ---------------------------------------------------------------------------------------------- running them

def ensure_jobs(now=None):
    """A row per enabled job, due at once when new (a worker that starts does its work right away)."""
    now = now or utcnow()
    for name in _enabled():
        if db.session.get(Job, name) is None:
            db.session.execute(dbutil.insert(Job.__table__).values(name=name, next_run_at=now)
                               .on_conflict_do_nothing(index_elements=["name"]))  # another worker's is as good
    db.session.commit()


def run_next_due(worker, log=print):
    """Claim one due job no other worker holds, run it, record it; returns its name (None: nothing to do)."""
    with db.engine.connect() as lock:
        row = lock.execute(select(Job.name, Job.next_run_at)
                           .where(Job.name.in_(_enabled()), Job.next_run_at <= utcnow())
                           .order_by(Job.next_run_at).limit(1).with_for_update(skip_locked=True)).first()
        if row is None:
            lock.rollback()
            return None
        started = utcnow()
        log(f"worker {worker}: {row.name} started (due {row.next_run_at.isoformat()})")
        try:
            detail, outcome = SCHEDULE[row.name][1](started), "ok"
        except Exception as exc:  # recorded and retried next period; the other jobs go on
            db.session.rollback()
            current_app.logger.exception("job %s failed", row.name)
            detail, outcome = repr(exc), "failed"
        finally:
            db.session.remove()
        finished = utcnow()
        lock.execute(update(Job).where(Job.name == row.name).values(next_run_at=started + _period(row.name)))
        lock.execute(insert(JobRun).values(job=row.name, due_at=row.next_run_at, started_at=started,
                                           finished_at=finished, worker=worker, outcome=outcome,
                                           detail=(detail or "")[:500]))
        lock.commit()
        log(f"worker {worker}: {row.name} {outcome}: {detail}")
        return row.name


def run_once(worker, log=print, http_session=None):
    """Every due job, then one round of push delivery (every worker delivers; the outbox's leases share it)."""
    from .notify.worker import deliver
    ran = []
    while len(ran) < len(SCHEDULE) and (name := run_next_due(worker, log)):
        ran.append(name)
    return {"jobs": ran, **deliver(http_session=http_session)}


def run_forever(poll_seconds, log=print):
    """Until SIGTERM/SIGINT. A crash anywhere loses nothing: the locks and leases free up and another pass
    (of this worker or another) does the work."""
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    http = requests.Session()
    ensure_jobs()
    log(f"worker {worker}: polling every {poll_seconds}s; jobs "
        + ", ".join(f"{name} every {_period(name).total_seconds():g}s" for name in _enabled()))
    while not stopping:
        started = time.monotonic()
        try:
            report = run_once(worker, log, http)
            if report["fanned_out"] or report["sent"]:
                log(f"worker {worker}: push {report}")
        except Exception:  # the database may be restarting: keep the loop alive, the rows keep the work
            db.session.rollback()
            current_app.logger.exception("worker pass failed")
        finally:
            db.session.remove()
        while not stopping and time.monotonic() - started < poll_seconds:
            time.sleep(0.1)
    log(f"worker {worker}: stopped")


def job_lags(now=None):
    """Per enabled job, how long it is overdue (0 on time): a worker missing or stuck shows here (/metrics)."""
    now = now or utcnow()
    due = db.session.execute(select(Job.name, Job.next_run_at).where(Job.name.in_(_enabled()))).all()
    return {name: max(0.0, (now - at).total_seconds()) for name, at in due}


def init_app(app):
    for name, default in (("DASHBOARD_SNAPSHOT_SECONDS", "3600"), ("RETENTION_SECONDS", "86400"),
                          ("JOB_HISTORY_DAYS", "30")):
        app.config.setdefault(name, float(os.environ.get(name, default)))

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Run the due jobs and one round of push delivery, then exit.")
    def worker_command(once):
        """The background worker: outage heartbeat and clock, push checks and delivery, trend snapshots,
        retention. Run one or more per deployment (each job is done once whatever their number)."""
        if once:
            ensure_jobs()
            click.echo(run_once(f"{socket.gethostname()}:{os.getpid()}", log=click.echo))
        else:
            run_forever(app.config["PUSH_POLL_SECONDS"], log=click.echo)  # the outbox's poll paces the jobs too
