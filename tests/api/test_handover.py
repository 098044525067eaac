"""Handover to the next visit (Till nästa besök): a note marked handover reaches the workers of the client's
next visits at their next pull, until one of them has read it — and never anyone of another unit."""
from datetime import datetime, timedelta

import pytest

from server.extensions import db
from server.models import AccessLog, Client, User, Visit, utcnow


def _visit(worker, client_id, start, hours=1):
    visit = Visit(unit_id=worker.unit_id, client_id=client_id, planned_start=start,
                  planned_end=start + timedelta(hours=hours))
    visit.workers = [worker]
    db.session.add(visit)
    db.session.flush()
    return visit.id


@pytest.fixture
def rounds(app):
    """worker1 is at a client now; worker2 comes later today; worker7 (Söder) visits a client of Söder."""
    with app.app_context():
        a, b, other = (db.session.query(User).filter_by(username=n).one() for n in ("worker1", "worker2", "worker7"))
        client = db.session.query(Client).filter_by(unit_id=a.unit_id).order_by(Client.id).first()
        foreign = db.session.query(Client).filter_by(unit_id=other.unit_id).order_by(Client.id).first()
        now = utcnow()
        ids = {"client": client.id, "a_visit": _visit(a, client.id, now - timedelta(minutes=20)),
               "b_visit": _visit(b, client.id, now + timedelta(hours=2)),
               "other_visit": _visit(other, foreign.id, now + timedelta(hours=2))}
        db.session.commit()
        return ids


def _note(s, ids, text, occurred_at=None, **extra):
    return s.event("note_added", {"client_id": ids["client"], "visit_id": ids["a_visit"], "text": text, **extra},
                   occurred_at=occurred_at)


def test_a_handover_note_reaches_the_next_visits_worker_until_read(app, auth, rounds):
    a, b, other = auth.login("worker1"), auth.login("worker2"), auth.login("worker7")
    written = utcnow() - timedelta(minutes=10)  # offline: it reaches the server later, with the phone's clock
    note = _note(a, rounds, "Larmet byttes i dag, ny kod i nyckelgömman.", handover=True,
                 occurred_at=written.isoformat())
    plain = _note(a, rounds, "Åt frukost med god aptit.")
    assert [r["status"] for r in a.push([note, plain]).json["results"]] == ["applied", "applied"]

    first = b.pull()
    [handover] = first["handovers"]
    assert handover["id"] == note["id"] and handover["text"] == "Larmet byttes i dag, ny kod i nyckelgömman."
    assert handover["client_id"] == rounds["client"] and handover["visit_id"] == rounds["a_visit"]
    assert handover["for_visits"] == [rounds["b_visit"]]
    assert abs(datetime.fromisoformat(handover["written_at"]) - written) < timedelta(seconds=5)
    with app.app_context():
        assert handover["author"] == db.session.query(User).filter_by(username="worker1").one().display_name
        logged = {r.client_id for r in db.session.query(AccessLog).filter_by(action="sync_pull",
                                                                             device_id=b.device_id)}
    assert rounds["client"] in logged
    assert a.pull()["handovers"] == []  # the writer is not told their own note
    assert other.pull()["handovers"] == []  # another unit never sees it

    # also an incremental pull carries it (the client itself has not changed)
    assert [n["id"] for n in b.pull(first["cursor"])["handovers"]] == [note["id"]]
    ack = b.event("handover_acknowledged", {"note_id": note["id"], "client_id": rounds["client"]})
    assert b.push([ack]).json["results"][0]["status"] == "applied"
    assert b.pull(first["cursor"])["handovers"] == []
    assert b.pull()["handovers"] == []
    assert auth.login("worker2").pull()["handovers"] == []  # read by the next visit: gone for everyone


def test_a_note_not_marked_handover_is_never_in_a_pull(auth, rounds):
    a, b = auth.login("worker1"), auth.login("worker2")
    a.push([_note(a, rounds, "Vanlig anteckning."), _note(a, rounds, "Inte heller.", handover=False)])
    assert b.pull()["handovers"] == []


def test_a_note_is_for_the_visits_after_it_not_before(app, auth, rounds):
    a, b = auth.login("worker1"), auth.login("worker2")
    with app.app_context():  # worker2's visit of the client was this morning, before the note was written
        visit = db.session.get(Visit, rounds["b_visit"])
        visit.planned_start, visit.planned_end = utcnow() - timedelta(hours=3), utcnow() - timedelta(hours=2)
        db.session.commit()
    a.push([_note(a, rounds, "Till nästa besök.", handover=True)])
    assert b.pull()["handovers"] == []


def test_acknowledging_is_checked_like_any_record(app, auth, rounds):
    a, b, other = auth.login("worker1"), auth.login("worker2"), auth.login("worker7")
    note = _note(a, rounds, "Till nästa besök.", handover=True)
    a.push([note])
    with app.app_context():
        foreign = db.session.query(Client.id).filter(Client.unit_id != db.session.query(User.unit_id)
                                                     .filter_by(username="worker1").scalar_subquery()).first()[0]
    # another unit's worker cannot acknowledge it away (its client is not in their unit)
    r = other.push([other.event("handover_acknowledged", {"note_id": note["id"], "client_id": rounds["client"]})])
    assert r.json["results"][0]["code"] == "client_out_of_scope"
    r = other.push([other.event("handover_acknowledged", {"note_id": note["id"], "client_id": foreign})])
    assert r.json["results"][0]["code"] == "unknown_note"
    # a note id that is not a note, or a note of another client
    visit_ev = a.event("visit_started", {"visit_id": rounds["a_visit"]})
    a.push([visit_ev])
    for note_id in (visit_ev["id"], "00000000-0000-4000-8000-000000000000"):
        r = b.push([b.event("handover_acknowledged", {"note_id": note_id, "client_id": rounds["client"]})])
        assert r.json["results"][0]["code"] == "unknown_note"
    assert [n["id"] for n in b.pull()["handovers"]] == [note["id"]]  # still open
    bad = b.push([b.event("handover_acknowledged", {"note_id": "nope", "client_id": rounds["client"]})])
    assert bad.status_code == 422
