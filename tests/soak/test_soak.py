"""The short soak: the long one's promises on a small load, inside `make test` (the long one: `make soak`).

Runs against real gunicorn (2 workers) on PostgreSQL when TEST_DATABASE_URL is set, else on SQLite.
PostgreSQL is restarted only in CI (which runs alone) or when SOAK_PG_RESTART=1: on a shared machine
the restart would break other people's database tests.
"""
import os

from .harness import run

PG_URL = os.environ.get("TEST_DATABASE_URL")


def test_nothing_is_lost_or_doubled_through_killed_workers_dropped_answers_and_a_database_restart():
    restart_pg = bool(PG_URL) and bool(os.environ.get("CI") or os.environ.get("SOAK_PG_RESTART"))
    figures, problems = run(devices=24, events_per_device=20, drop_rate=0.1, kill_worker=True,
                            restart_pg=restart_pg, pg_url=PG_URL, threads=8, log=lambda *_: None)
    print(figures.report())
    assert problems == []
    assert sum("kill -9" in f for f in figures.faults) == 2
    assert any("PostgreSQL restart" in f for f in figures.faults) == restart_pg
    assert figures.dropped_after_commit > 0 and figures.errors, "the proxy dropped answers; devices saw it"
    assert figures.stored + figures.quarantined == figures.events_generated
    assert figures.duplicates_absorbed > 0 and figures.acknowledged_batches_resent > 0
