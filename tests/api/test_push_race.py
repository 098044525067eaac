"""Another worker's push stores one of our ids while our push is under way: a race the per-worker lock cannot
prevent (the two pushes hold different workers' locks). `INSERT … ON CONFLICT (id) DO NOTHING` stores nothing
of ours, and the push answers from what the log really holds — never projecting what it did not store."""
from server import ingest
from server.extensions import db
from server.models import Event, QuarantinedEvent, Registration


def test_an_id_another_worker_stored_meanwhile_is_answered_from_the_log_not_projected(app, auth, monkeypatch):
    w1, w2 = auth.login("worker1"), auth.login("worker2")
    visit1, visit2 = w1.pull()["visits"][0], w2.pull()["visits"][0]
    ours = w1.event("visit_started", {"visit_id": visit1["id"]})
    theirs = w2.event("note_added", {"client_id": visit2["client_id"], "visit_id": visit2["id"],
                                     "text": "Samma id, annat innehåll."}, id_=ours["id"])
    read_facts, interleaved = ingest.DbFacts.read, []

    def facts_then_the_other_push(events, unit_id):
        facts = read_facts(events, unit_id)
        if not interleaved and ours["id"] in {e.id for e in events}:  # after our read, before our insert
            interleaved.append(None)
            db.session.commit()  # (SQLite has one writer: as from another process, ours waits for theirs)
            with app.test_client() as other:
                r = other.post("/api/sync/push", json=w2.push_body([theirs]), headers=w2.headers)
            interleaved[0] = [x["status"] for x in r.json["results"]]
        return facts

    monkeypatch.setattr(ingest.DbFacts, "read", facts_then_the_other_push)
    r = w1.push([ours])
    assert r.status_code == 200, r.json
    assert interleaved == [["applied"]]
    assert [(x["status"], x["code"]) for x in r.json["results"]] == [("rejected", "id_reused")]
    with app.app_context():
        stored = db.session.query(Event).filter_by(id=ours["id"]).all()
        assert [(e.user_id, e.type) for e in stored] == [(w2.user["id"], "note_added")]
        assert db.session.get(QuarantinedEvent, ours["id"]).raw["type"] == "visit_started"  # ours is kept
        # our start was never stored, so it must not have reached the projection either
        assert db.session.query(Registration).filter_by(visit_id=visit1["id"], worker_id=w1.user["id"]).count() == 0
