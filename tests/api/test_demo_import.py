"""The demo municipality is an example import: `flask demo` (and so `make run`) seeds it through the same code
as the three doors, and seeding again changes nothing but the schedules of days that had none."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from server.demo import seed
from server.extensions import db
from server.importer.models import AuditEntry
from server.models import Client, Unit, User, Visit, visit_workers

STOCKHOLM = ZoneInfo("Europe/Stockholm")
FAST = "pbkdf2:sha256:1000"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_demo_came_through_the_import_with_every_object_in_the_audit_trail(ctx):
    by_entity = dict(db.session.execute(select(AuditEntry.entity, func.count()).where(
        AuditEntry.actor == "flask demo", AuditEntry.action == "created").group_by(AuditEntry.entity)).all())
    assert by_entity["unit"] == count(Unit) == 2
    assert by_entity["staff"] == count(User) == 16
    assert by_entity["client"] == count(Client) == 40
    assert by_entity["visit"] == count(Visit) > 0
    assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.external_id.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(Client).where(Client.external_id.is_(None))) == 0


def test_the_demo_books_no_worker_twice_at_once_and_gives_every_worker_eight_visits_a_day(ctx):
    rows = db.session.execute(select(visit_workers.c.worker_id, Visit.planned_start, Visit.planned_end)
                              .join(Visit, Visit.id == visit_workers.c.visit_id)
                              .order_by(visit_workers.c.worker_id, Visit.planned_start)).all()
    per_day = {}
    for (w1, s1, e1), (w2, s2, _) in zip(rows, rows[1:]):
        assert not (w1 == w2 and s2 < e1), f"worker {w1} double-booked at {s2}"
    for worker_id, start, _ in rows:
        key = (worker_id, start.astimezone(STOCKHOLM).date())
        per_day[key] = per_day.get(key, 0) + 1
    assert set(per_day.values()) == {8}
    shared = db.session.scalar(select(func.count()).select_from(
        select(visit_workers.c.visit_id).group_by(visit_workers.c.visit_id)
        .having(func.count() > 1).subquery()))
    assert shared > 0  # double staffing is in the demo, as one visit with two workers


def test_seeding_again_changes_nothing_and_a_new_day_adds_only_its_schedule(ctx):
    audit, visits = count(AuditEntry), count(Visit)
    assert seed(hash_method=FAST) == (False, [])
    assert count(AuditEntry) == audit and count(Visit) == visits

    tomorrow_plus = datetime.now(STOCKHOLM) + timedelta(days=1)
    created, days = seed(now=tomorrow_plus, hash_method=FAST)
    new_day = (tomorrow_plus + timedelta(days=3)).date()
    assert (created, days) == (False, [new_day.isoformat()])
    lo = datetime.combine(new_day, time(0), STOCKHOLM)
    added = db.session.scalar(select(func.count()).select_from(Visit).where(
        Visit.planned_start >= lo, Visit.planned_start < lo + timedelta(days=1)))
    assert count(Visit) == visits + added and added == 12 * 8 - 6  # six colleagues join a double-staffed visit
    assert count(AuditEntry) == audit + added  # the people were unchanged: no audit rows for them
