"""Another worker's push stores one of our ids while our push is under way (a race the per-worker lock
cannot prevent: the two pushes hold different workers' locks).

On PostgreSQL the push is pipelined: it inserts and projects its new events in one round trip, assuming
that what it found absent under its lock is still absent; here the other push commits exactly between
our read and our insert, so the pipelined attempt must be rolled back and the push answered from what is
really stored. On SQLite (one writer) the other push lands just before our read (on the direct path: before
our write transaction, which holds the one writer's lock from its read to its commit): the same answer."""
import pytest
from sqlalchemy import text

from server import ingest
from server.extensions import db
from server.models import Event, Registration


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "full"])
def test_an_id_another_worker_stored_meanwhile_is_answered_from_the_log_not_projected(app, auth, monkeypatch, direct):
    app.config["PUSH_DIRECT"] = direct
    w1, w2 = auth.login("worker1"), auth.login("worker2")
    visit1, visit2 = w1.pull()["visits"][0], w2.pull()["visits"][0]
    ours = w1.event("visit_started", {"visit_id": visit1["id"]})
    theirs = w2.event("note_added", {"client_id": visit2["client_id"], "visit_id": visit2["id"],
                                     "text": "Samma id, annat innehåll."}, id_=ours["id"])
    interleaved = []

    def other_push():
        if not interleaved:
            interleaved.append(None)  # once (the other push passes through here too)
            # a request of its own, as from another process: its own session, connection, commit and push groups
            # (in this process it would queue behind ours, which is waiting for it)
            ours_groups = app.extensions.pop("push_groups", None)
            try:
                r = w2.push([theirs])
            finally:
                app.extensions.pop("push_groups", None)
                if ours_groups is not None:
                    app.extensions["push_groups"] = ours_groups
            interleaved[0] = [x["status"] for x in r.json["results"]]

    with app.app_context():
        pipelined = ingest.pipelined()
    if pipelined:
        real = ingest.pg_pipeline

        def pipeline(statements, conn=None):
            if statements[0][0] == ingest._PG_INSERT_NEW_EVENTS_SQL:
                other_push()  # after our lock and read, before our insert
            return real(statements, conn=conn)
        monkeypatch.setattr(ingest, "pg_pipeline", pipeline)
    elif app.config["PUSH_DIRECT"]:  # SQLite, the direct path: nothing writes between its read and its insert
        real_transaction = ingest.sqlite_write_transaction

        def transaction(conn):
            other_push()  # just before our write transaction (and its read) begins
            return real_transaction(conn)
        monkeypatch.setattr(ingest, "sqlite_write_transaction", transaction)
    else:
        real_facts = ingest.DbFacts

        class Facts(real_facts):
            def __init__(self, *args, **kwargs):
                other_push()
                super().__init__(*args, **kwargs)
        monkeypatch.setattr(ingest, "DbFacts", Facts)

    r = w1.push([ours])
    assert r.status_code == 200, r.json
    assert interleaved == [["applied"]]
    assert [(x["status"], x["code"]) for x in r.json["results"]] == [("rejected", "id_reused")]
    with app.app_context():
        stored = db.session.query(Event).filter_by(id=ours["id"]).all()
        assert [(e.user_id, e.type) for e in stored] == [(w2.user["id"], "note_added")]
        # our start was never stored, so it must not have reached the projection either
        assert db.session.query(Registration).filter_by(visit_id=visit1["id"], worker_id=w1.user["id"]).count() == 0



def test_a_push_whose_prepared_statements_vanished_is_redone_and_applied_once(app, auth, monkeypatch):
    """On PostgreSQL the push's statements are prepared once per connection; if they were dropped meanwhile
    (DEALLOCATE ALL, as a pooler or an admin may send), the pipelined attempt fails as a whole and the push is
    redone the plain way. On SQLite there is nothing to drop: the same push, the same answer."""
    w1 = auth.login("worker1")
    visit = w1.pull()["visits"][0]
    assert w1.push([w1.event("visit_started", {"visit_id": visit["id"]})]).status_code == 200  # prepares them
    dropped = []
    with app.app_context():
        pipelined = ingest.pipelined()
    if pipelined:
        real = ingest.pg_pipeline

        def pipeline(statements, conn=None):
            if not dropped:  # on this very connection: the direct path's own, or the session's
                on = conn if conn is not None else db.session.connection()
                dropped.append(on.execute(text("DEALLOCATE ALL")) is not None)
            return real(statements, conn=conn)
        monkeypatch.setattr(ingest, "pg_pipeline", pipeline)

    ended = w1.event("visit_ended", {"visit_id": visit["id"]})
    r = w1.push([ended])
    assert r.status_code == 200, r.json
    assert [x["status"] for x in r.json["results"]] == ["applied"]
    assert dropped == ([True] if pipelined else [])
    with app.app_context():
        assert db.session.query(Event).filter_by(id=ended["id"]).count() == 1
        reg = db.session.query(Registration).filter_by(visit_id=visit["id"], worker_id=w1.user["id"]).one()
        assert reg.started_at is not None and reg.ended_at is not None
    assert [x["status"] for x in w1.push([ended]).json["results"]] == ["duplicate"]
