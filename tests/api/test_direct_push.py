"""The push endpoint's direct path (server.direct_push): the common push is answered without Flask's
request and the ORM session, exactly as the full path would answer it; anything else goes to the full path,
which then does everything once (its errors, quarantine, access log, refusal log).

Both engines take it (PostgreSQL through psycopg, SQLite through sqlite3); with PUSH_DIRECT off, every push is
answered by the full path (checked here too)."""
import gzip
import io
import itertools
import json
import logging

import pytest
from sqlalchemy import text

from server import api, dbutil, direct_push, ingest
from server.extensions import db
from server.models import AccessLog, Device, Event, QuarantinedEvent, Registration
from support.visits import visit_events


class Taken(list):
    direct_on = False


@pytest.fixture
def paths(app, monkeypatch):
    """Which path answered each push: 'direct', or 'full' (the direct path gave up, or is off)."""
    taken = Taken()
    real_direct, real_full = direct_push.push_direct, api.push

    def direct(auth, body):
        answer = real_direct(auth, body)
        if answer is not None:
            taken.append("direct")
        return answer

    def full(auth, read_body):
        taken.append("full")
        return real_full(auth, read_body)

    monkeypatch.setattr(direct_push, "push_direct", direct)
    monkeypatch.setattr(api, "push", full)
    with app.app_context():
        taken.direct_on = ingest.direct_capable()  # PostgreSQL through psycopg, SQLite through sqlite3
    return taken


def _answer(r, events):
    """A push's answer with what must differ between two pushes taken out: ids by position, times."""
    body = dict(r.json)
    position = {e["id"]: i for i, e in enumerate(events)}
    body["results"] = [dict(x, id=position[x["id"]]) for x in body["results"]]
    del body["server_time"], body["skew_seconds"]
    return body


def _headers(r):
    return {k.lower(): v for k, v in r.headers.items() if k.lower() not in ("content-length", "date")}


def _stored(app, events):
    """What the log holds for these events (in their order), less what differs by id and time, and the
    registration they made."""
    with app.app_context():
        rows = {e.id: e for e in db.session.query(Event).filter(Event.id.in_([x["id"] for x in events]))}
        log = [(r.type, r.source, r.device_id, r.user_id, r.unit_id, r.client_id, r.device_seq, r.occurred_at_raw,
                r.payload, r.fingerprint == ingest.fingerprint(e), r.skew_flagged, r.recorded_by)
               for e in events for r in [rows[e["id"]]]]
        reg = db.session.query(Registration).filter_by(visit_id=events[0]["payload"]["visit_id"]).one()
        started = rows[events[0]["id"]].occurred_at_corrected
        ended = rows[events[-1]["id"]].occurred_at_corrected
        return log, (reg.worker_id, reg.started_at == started, reg.ended_at == ended, reg.started_source)


def test_a_common_push_is_answered_directly_exactly_as_the_full_path_answers_it(app, worker, paths):
    one, other = worker.package["visits"][:2]
    first = visit_events(worker, one, note="Pigg i dag, åt frukost.")
    r1 = worker.push(first)
    app.config["PUSH_DIRECT"] = False
    second = visit_events(worker, other, note="Pigg i dag, åt frukost.")
    r2 = worker.push(second)
    assert paths == (["direct", "full"] if paths.direct_on else ["full", "full"])
    assert r1.status_code == r2.status_code == 200
    assert _answer(r1, first) == _answer(r2, second)
    assert [x["status"] for x in r1.json["results"]] == ["applied"] * 4
    assert _headers(r1) == _headers(r2)
    assert r1.headers["Content-Type"] == "application/json" and r1.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in r1.headers and r1.headers["X-Content-Type-Options"] == "nosniff"
    log1, reg1 = _stored(app, first)
    log2, reg2 = _stored(app, second)
    assert [row[:5] + row[9:] for row in log1] == [row[:5] + row[9:] for row in log2]
    assert all(row[9] for row in log1 + log2)  # the fingerprint of what was sent
    for log, events in ((log1, first), (log2, second)):  # as the device wrote them
        assert [row[5:9] for row in log] == [(e["payload"].get("client_id"), e["device_seq"], e["occurred_at"],
                                              e["payload"]) for e in events]
    assert reg1 == reg2 == (worker.user["id"], True, True, "device")
    with app.app_context():
        device = db.session.get(Device, worker.device_id)
        assert device.status_pending == 4 and device.status_app_version == "test" and device.last_push_at


def test_duplicates_and_reused_ids_are_answered_directly(app, worker, paths):
    events = visit_events(worker, worker.package["visits"][0])
    assert worker.push(events).status_code == 200
    reused = dict(events[0], payload={"visit_id": worker.package["visits"][1]["id"]})
    r = worker.push([*events[1:], reused])
    assert [(x["status"], x["code"]) for x in r.json["results"]] == \
        [("duplicate", "already_applied")] * 3 + [("rejected", "id_reused")]
    assert paths == (["direct", "direct"] if paths.direct_on else ["full", "full"])
    with app.app_context():
        assert db.session.query(Event).count() == 4 and db.session.query(QuarantinedEvent).count() == 0


@pytest.mark.parametrize("accept", ["gzip, deflate, br", "identity", None])
def test_an_answer_is_compressed_as_flask_compress_would_compress_it(app, worker, paths, accept):
    """A push of forty answers about 4 kB: gzip when the phone accepts it, as for every other JSON answer."""
    visits = worker.package["visits"]
    batches = [[worker.event("note_added",
                             {"client_id": v["client_id"], "visit_id": v["id"], "text": f"Anteckning {i}"})
                for i, v in zip(range(40), itertools.cycle(visits))]  # however many visits the shift has now
               for _ in range(2)]
    answers = []
    for direct, events in zip((True, False), batches):
        app.config["PUSH_DIRECT"] = direct
        headers = dict(worker.headers, **({"Accept-Encoding": accept} if accept else {}))
        r = worker.client.post("/api/sync/push", json=worker.push_body(events), headers=headers)
        assert r.status_code == 200
        raw = r.get_data()
        body = json.loads(gzip.decompress(raw) if r.headers.get("Content-Encoding") == "gzip" else raw)
        answers.append((_headers(r), [x["status"] for x in body["results"]]))
    assert answers[0] == answers[1]
    assert answers[0][1] == ["applied"] * 40
    assert answers[0][0].get("content-encoding") == ("gzip" if accept and "gzip" in accept else None)
    assert answers[0][0]["vary"] == "Accept-Encoding"
    assert paths == (["direct", "full"] if paths.direct_on else ["full", "full"])


def _quarantined(app):
    with app.app_context():
        return db.session.query(QuarantinedEvent).count()


def _access(app, **by):
    with app.app_context():
        return db.session.query(AccessLog).filter_by(**by).count()


def test_the_log_rows_are_made_before_the_transaction_and_on_sqlite_converted_before_its_lock(app, worker, paths,
                                                                                             monkeypatch):
    """What needs no database is done before the push's transaction. SQLite has one writer at a time: a batch of
    a hundred spent a quarter of its time holding the write lock converting values."""
    steps, held = [], []

    def recorded(step, real):
        def call(*args, **kwargs):
            steps.append(step)
            return real(*args, **kwargs)
        return call

    def args(params, real=ingest._SQLITE_INSERT_EVENTS.args):
        held.append(any(lock.locked() for lock, _ in dbutil._writers.values()))
        return real(params)

    monkeypatch.setattr(ingest, "_log_rows", recorded("rows", ingest._log_rows))
    monkeypatch.setattr(ingest._SqliteDirect, "read", recorded("read", ingest._SqliteDirect.read))
    monkeypatch.setattr(ingest, "_pg_group", recorded("read", ingest._pg_group))  # its first step: the reads
    monkeypatch.setattr(ingest._SQLITE_INSERT_EVENTS, "args", args)
    events = visit_events(worker, worker.package["visits"][0], note="Pigg i dag.")
    assert [x["status"] for x in worker.push(events).json["results"]] == ["applied"] * len(events)
    assert paths == ["direct"] and steps == ["rows", "read"]
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
    assert held == ([False] * len(events) if sqlite else [])  # PostgreSQL: the rows go as JSON


def test_a_record_to_quarantine_goes_to_the_full_path_and_is_quarantined_once(app, worker, auth, paths):
    other = auth.login("worker3").pull()["visits"][0]  # another worker's visit
    ok = worker.event("visit_started", {"visit_id": worker.package["visits"][0]["id"]})
    bad = worker.event("visit_started", {"visit_id": other["id"]})
    r = worker.push([ok, bad])
    assert [x["status"] for x in r.json["results"]] == ["applied", "rejected"]
    assert paths[-1] == "full" and "direct" not in paths
    assert _quarantined(app) == 1
    with app.app_context():
        assert db.session.query(Event).count() == 1


def test_an_opened_client_record_goes_to_the_full_path_and_is_access_logged_once(app, worker, paths):
    visit = worker.package["visits"][0]
    before = _access(app, client_id=visit["client_id"])
    e = worker.event("client_record_opened", {"client_id": visit["client_id"], "view": "overview"})
    assert worker.push([e]).json["results"][0]["status"] == "applied"
    assert paths == ["full"]
    assert _access(app, client_id=visit["client_id"]) == before + 1


def test_a_revoked_device_goes_to_the_full_path_which_quarantines_and_says_wipe(app, worker, auth, paths):
    auth.login("admin1").post(f"/api/devices/{worker.device_id}/revoke")
    r = worker.push([worker.event("visit_started", {"visit_id": worker.package["visits"][0]["id"]})])
    assert r.status_code == 200 and r.json["wipe"] is True
    assert r.json["results"][0]["code"] == "device_revoked" and _quarantined(app) == 1
    assert paths == ["full"]


def test_a_refused_role_is_answered_and_logged_once_by_the_full_path(app, auth, paths):
    admin = auth.login("admin1")
    before = _access(app, user_id=admin.user["id"], outcome="denied")
    r = admin.push([])
    assert r.status_code == 403 and r.json["code"] == "forbidden"
    assert _access(app, user_id=admin.user["id"], outcome="denied") == before + 1
    assert paths == ["full"]


@pytest.mark.parametrize("case", ["token", "json", "gzip", "unsealed", "schema"])
def test_a_refused_request_is_answered_by_the_full_path(app, worker, paths, case):
    body = json.dumps(worker.push_body([worker.event("visit_started", {"visit_id": worker.package["visits"][0]["id"]})]))
    headers, expected = dict(worker.headers), None
    if case == "token":
        headers["Authorization"] = "Bearer not-a-token"
        expected = (401, "token_invalid")
    elif case == "json":
        body = body[:-3]
        expected = (400, "invalid_json")
    elif case == "gzip":
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body.encode())[:-9]  # cut short
        expected = (400, "invalid_encoding")
    elif case == "unsealed":
        headers = worker.push_headers  # a push token may only send sealed records
        expected = (422, "validation_error")
    else:
        body = body.replace('"protocol": 1', '"protocol": "ett"')
        expected = (422, "validation_error")
    r = worker.client.post("/api/sync/push", data=body, headers=headers, content_type="application/json")
    assert (r.status_code, r.json["code"]) == expected
    assert paths == ([] if case == "token" else ["full"])  # a bad token is refused before the view
    with app.app_context():
        assert db.session.query(Event).count() == 0


def test_a_fault_of_the_direct_path_leaves_the_push_to_the_full_path_applied_once(app, worker, paths, monkeypatch,
                                                                                  caplog):
    """The direct path's commit goes through and then its connection fails: the full path takes the push again
    and answers it as stored."""
    def broken(real):
        def write(*args):
            real(*args)  # committed, then the answer is lost on the way
            raise ConnectionResetError("lost")
        return write

    monkeypatch.setattr(ingest._SqliteDirect, "write", broken(ingest._SqliteDirect.write))
    monkeypatch.setattr(ingest, "_pg_group", broken(ingest._pg_group))  # a group of one: reads, writes, commits
    e = worker.event("visit_started", {"visit_id": worker.package["visits"][0]["id"]})
    with caplog.at_level(logging.WARNING):
        r = worker.push([e])
    assert r.status_code == 200
    assert r.json["results"][0]["status"] == ("duplicate" if paths.direct_on else "applied")  # stored once
    assert paths == ["full"] and ("direct push failed" in caplog.text) == paths.direct_on
    with app.app_context():
        assert db.session.query(Event).filter_by(id=e["id"]).count() == 1


def test_a_connection_left_by_a_direct_push_that_gave_up_is_clean(app, worker, auth, paths):
    """A push the direct path gave up after its first round trip (a record to quarantine) leaves no
    transaction open on the pooled connection: the next push, on the same connection, sees its own writes."""
    other = auth.login("worker3").pull()["visits"][0]
    worker.push([worker.event("visit_started", {"visit_id": other["id"]})])
    e = worker.event("visit_started", {"visit_id": worker.package["visits"][0]["id"]})
    assert worker.push([e]).json["results"][0]["status"] == "applied"
    assert paths == (["full", "direct"] if paths.direct_on else ["full", "full"])  # SQLite: no BEGIN left open
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert db.session.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                " AND datname = current_database() AND pid <> pg_backend_pid()")).scalar() == 0


@pytest.mark.parametrize("environ, expected", [
    ({}, None),  # no Content-Length (chunked): the app reads it
    ({"CONTENT_LENGTH": "x"}, None),
    ({"CONTENT_LENGTH": str(3 * 1024 * 1024)}, None),  # over MAX_CONTENT_LENGTH: the app answers 413
    ({"CONTENT_LENGTH": "5"}, b"abcde"),
    ({"CONTENT_LENGTH": "50"}, b"abcdefgh"),  # the client stopped early: what came
])
def test_the_body_is_read_only_when_its_length_is_known_and_allowed(environ, expected):
    environ = dict(environ, **{"wsgi.input": io.BytesIO(b"abcdefgh")})
    assert direct_push._read(environ, 2 * 1024 * 1024) == expected


def test_a_process_whose_first_request_is_a_push_sends_it_through_the_app(app, worker, paths, tmp_path,
                                                                          monkeypatch):
    """What a process starts on its first request through the app (the outage pulse) must not wait for a
    request that is not a push: a new process (here a second app on the same database) takes its first push
    through the full path, the next one directly."""
    from server import create_app
    monkeypatch.setenv("HEMVARD_INSTANCE", str(tmp_path / "second"))
    second = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SECRET_KEY": app.config["SECRET_KEY"]})
    phone = second.test_client()
    visits = worker.package["visits"]
    for visit in visits[:2]:
        r = phone.post("/api/sync/push", headers=worker.headers,
                       json=worker.push_body([worker.event("visit_started", {"visit_id": visit["id"]})]))
        assert r.status_code == 200 and r.json["results"][0]["status"] == "applied"
    assert paths == (["full", "direct"] if paths.direct_on else ["full", "full"])
    with second.app_context():
        db.engine.dispose()
