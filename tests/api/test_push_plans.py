"""On PostgreSQL the push's facts query is a prepared statement that keeps one generic plan per connection,
each of its branches an index lookup of the batch's ids. Left to itself PostgreSQL planned the eight branches
afresh on every push (a plan made for the ids at hand always looks cheaper than the generic one), and a generic
plan made while the log was still small would have scanned the whole log for as long as the connection lived.
On SQLite the same query must look every id up by index too."""
import pytest
from sqlalchemy import text

from server import ingest
from server.dbutil import _convert
from server.extensions import db
from tests.conftest import requires_postgresql

on_postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

PUSHES = 8  # PostgreSQL weighs the generic plan after five custom ones


def _facts_statement():
    """(name, generic plans, custom plans) of the facts query prepared on the session's connection."""
    return db.session.execute(text(
        "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%UNION ALL SELECT%'"
    )).all()


def _note(worker, visit, i):
    return worker.event("note_added", {"client_id": visit["client_id"], "visit_id": visit["id"],
                                       "text": f"Anteckning {i}."})


@requires_postgresql
@on_postgresql
def test_pushes_of_any_size_reuse_one_plan_of_the_facts_query(app, auth):
    w1 = auth.login("worker1")
    visit = w1.pull()["visits"][0]
    for size in [1] * PUSHES + [10, 100]:
        r = w1.push([_note(w1, visit, i) for i in range(size)])
        assert [x["status"] for x in r.json["results"]] == ["applied"] * size, r.json
    with app.app_context():  # the same pooled connection: the requests ran one after the other
        statements = _facts_statement()
    assert len(statements) == 1, "the facts query was not prepared on this connection (or more than once)"
    _, generic, custom = statements[0]
    assert (generic, custom) == (PUSHES + 2, 0)


@requires_postgresql
@on_postgresql
def test_the_plan_made_on_a_nearly_empty_log_still_finds_ids_by_index(app, auth):
    w1 = auth.login("worker1")
    visit = w1.pull()["visits"][0]
    r = w1.push([_note(w1, visit, 0)])  # the first push on this connection makes the plan, on a small log
    assert r.json["results"][0]["status"] == "applied", r.json
    with app.app_context():
        [(name, _, _)] = _facts_statement()
        args = {"event_ids": "ARRAY['x']::varchar[]", "visit_ids": f"ARRAY[{visit['id']}]",
                "client_ids": f"ARRAY[{visit['client_id']}]", "unit_ids": "ARRAY[]::int[]",
                "user_id": str(w1.user["id"])}
        db.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))  # show the cached plan
        plan = "\n".join(db.session.execute(text(
            f"EXPLAIN EXECUTE {name}({', '.join(args[n] for n in _convert(ingest._PG_FACTS)[1])})")).scalars())
        db.session.rollback()
    scans = [line.strip() for line in plan.splitlines() if " on " in line and "Scan" in line]
    # each branch looks its ids up in an index and reads only what it finds: no table scan, no bitmap scan
    # (whose set-up cost more than the lookup) — and nothing that would make the plan's cost run away (with
    # scans switched off, a branch without an index path would be costed so high that PostgreSQL compiled the
    # query with JIT: 100 ms and more per push)
    for table in ("events", "quarantined_events", "visits", "visit_workers", "visit_interventions", "clients",
                  "units", "outage_gaps"):
        assert any(scan.startswith("->  Index") and f" on {table} " in scan for scan in scans), (table, plan)
    assert not [scan for scan in scans if "Seq Scan" in scan or "Bitmap" in scan], plan


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_sqlite_every_branch_of_the_facts_query_is_an_index_search(app):
    """SQLite gets each id list as one JSON array (json_each), so the query's text is the same for any batch;
    each branch must still look the ids up in an index, not scan its table."""
    with app.app_context():
        raw = db.session.connection().connection.driver_connection
        args = ingest._SQLITE_FACTS.args(
            ingest.DbFacts.params({1, 2}, {3}, {"e-1"}, {4}, user_id=5, array=ingest._json_array))
        plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + ingest._SQLITE_FACTS.sql, args)]
    scans = [step for step in plan if step.startswith("SCAN") and "json_each" not in step]
    assert not scans, plan
    for table in ("events", "quarantined_events", "visits", "visit_workers", "visit_interventions", "clients",
                  "units", "outage_gaps"):
        assert any(step.startswith(f"SEARCH {table} ") for step in plan), (table, plan)
