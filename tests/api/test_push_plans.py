"""On PostgreSQL a push of a few events runs its facts query as a prepared statement on its generic plan.
Left to itself PostgreSQL planned it afresh on every push: a plan made for one id looks cheaper than the
generic one, made for about ten. That planning was a quarter of the database's work on a push of one."""
import pytest
from sqlalchemy import text

from server.extensions import db
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

PUSHES = 8  # PostgreSQL weighs the generic plan after five custom ones


def _facts_plans():
    return db.session.execute(text(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%UNION ALL SELECT%'"
    )).all()


def test_pushes_of_one_event_reuse_the_facts_querys_plan_instead_of_planning_it_each_time(app, auth):
    w1 = auth.login("worker1")
    visit = w1.pull()["visits"][0]
    for i in range(PUSHES):
        r = w1.push([w1.event("note_added", {"client_id": visit["client_id"], "visit_id": visit["id"],
                                             "text": f"Anteckning {i}."})])
        assert [x["status"] for x in r.json["results"]] == ["applied"], r.json
    with app.app_context():  # the same pooled connection: the requests ran one after the other
        plans = _facts_plans()
    assert plans, "the facts query was not prepared on this connection"
    assert sum(custom for _, custom in plans) == 0
    assert sum(generic for generic, _ in plans) >= PUSHES
