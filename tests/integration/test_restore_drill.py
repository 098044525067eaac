"""The restore drill on a small database: a dump restores, the rebuilt projection equals the original — and a
projection the log does not give back is caught."""
import uuid

import pytest
from sqlalchemy import text

from server.extensions import db
from support.visits import visit_events


def test_the_restore_drill_gives_back_every_count_and_the_projection(app, runner, worker):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the drill uses pg_dump and pg_restore; SQLite is backed up with .backup")
    for visit in worker.pull()["visits"][:3]:
        assert worker.push(visit_events(worker, visit)).status_code == 200
    with app.app_context():
        registrations = db.session.scalar(text("SELECT count(*) FROM registrations"))
    assert registrations == 3
    result = runner.invoke(args=["restore-drill", "--target", f"hv_drill_{uuid.uuid4().hex[:8]}"])
    assert result.exit_code == 0, result.output
    assert "Restore drill passed" in result.output and "registrations 3" in result.output


def test_the_drill_fails_when_the_projection_is_not_what_the_log_gives(app, runner, worker):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the drill uses pg_dump and pg_restore; SQLite is backed up with .backup")
    visit = worker.pull()["visits"][0]
    assert worker.push(visit_events(worker, visit)).status_code == 200
    with app.app_context():  # a projection row edited behind the log's back
        db.session.execute(text("UPDATE registrations SET ended_at = ended_at + interval '1 hour'"))
        db.session.commit()
    result = runner.invoke(args=["restore-drill", "--target", f"hv_drill_{uuid.uuid4().hex[:8]}"])
    assert result.exit_code == 1
    assert "DIFFERS  registrations: 1 of 1 rows not given back by the log" in result.output
    assert "Restore drill FAILED" in result.output
