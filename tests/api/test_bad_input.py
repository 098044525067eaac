"""The catalogue of bad input and its answers: a clear 4xx with field messages, never a 5xx, nothing applied.

`test_push.py` has the first entries (types, offsets, unknown fields, NUL, surrogates, 413); this file
holds the rest of the catalogue for push, and the same promise for login, pull and the other endpoints.
"""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from server.extensions import db
from server.models import AccessLog, Device, Event, InterventionRecord, QuarantinedEvent, Registration

INJECTIONS = ["'; DROP TABLE events;--", "\" OR 1=1 --", "<img src=x onerror=alert(1)>", "../../etc/passwd",
              "${jndi:ldap://x}", "{{7*7}}", "%00", "1; SELECT pg_sleep(10)"]


def _state(app):
    """Everything a push could change: if this is equal before and after, nothing was applied."""
    with app.app_context():
        device_status = sorted((d.id, d.status_pending, d.status_app_version) for d in db.session.query(Device))
        return (db.session.query(Event).count(), db.session.query(QuarantinedEvent).count(),
                db.session.query(Registration).count(), db.session.query(InterventionRecord).count(),
                db.session.query(AccessLog).filter(AccessLog.event_id.is_not(None)).count(), device_status)


@pytest.fixture
def worker(auth):
    s = auth.login("worker1")
    s.package = s.pull()
    return s


def _good_batch(s):
    visit = s.package["visits"][0]
    return [s.event("visit_started", {"visit_id": visit["id"]}),
            s.event("intervention_recorded", {"visit_id": visit["id"],
                                               "intervention_id": visit["interventions"][0]["id"], "status": "done"}),
            s.event("note_added", {"client_id": visit["client_id"], "text": "Pigg."}),
            s.event("client_record_opened", {"client_id": visit["client_id"], "view": "overview"})]


def _ago(**kw):
    return (datetime.now(timezone.utc) - timedelta(**kw)).isoformat()


# Each entry: what is wrong, how to break a good request body `b` (its events e = b["events"]),
# and the field the 422 must name. Every other event in the batch is valid, and none may be applied.
CATALOGUE = [
    # wrong types
    ("events is an object", lambda b, e: b.update(events={"0": e[0]}), "events"),
    ("status is a list", lambda b, e: b.update(status=[1]), "status._schema"),
    ("protocol as a string", lambda b, e: b.update(protocol="1"), "protocol"),
    ("device_id as a number", lambda b, e: b.update(device_id=12345678), "device_id"),
    ("payload is a list", lambda b, e: e[2].update(payload=[1, 2]), "events.2.payload"),
    ("payload is null", lambda b, e: e[2].update(payload=None), "events.2.payload"),
    ("occurred_at is a number", lambda b, e: e[2].update(occurred_at=1732350000), "events.2.occurred_at"),
    ("device_seq is a float", lambda b, e: e[2].update(device_seq=1.5), "events.2.device_seq"),
    ("device_seq is negative", lambda b, e: e[2].update(device_seq=-1), "events.2.device_seq"),
    ("visit_id is a boolean", lambda b, e: e[0]["payload"].update(visit_id=True), "events.0.payload.visit_id"),
    ("visit_id is null", lambda b, e: e[0]["payload"].update(visit_id=None), "events.0.payload.visit_id"),
    ("visit_id is zero", lambda b, e: e[0]["payload"].update(visit_id=0), "events.0.payload.visit_id"),
    ("an event is a string", lambda b, e: e.__setitem__(2, "visit_started"), "events.2"),
    ("an event is null", lambda b, e: e.__setitem__(2, None), "events.2"),
    ("status.pending as a string", lambda b, e: b["status"].update(pending="3"), "status.pending"),
    ("text is a number", lambda b, e: e[2]["payload"].update(text=42), "events.2.payload.text"),
    ("status done/not_done misspelt", lambda b, e: e[1]["payload"].update(status="DONE"), "events.1.payload.status"),
    # missing fields
    ("no id", lambda b, e: e[2].pop("id"), "events.2.id"),
    ("no type", lambda b, e: e[2].pop("type"), "events.2.type"),
    ("no occurred_at", lambda b, e: e[2].pop("occurred_at"), "events.2.occurred_at"),
    ("no device_seq", lambda b, e: e[2].pop("device_seq"), "events.2.device_seq"),
    ("no events", lambda b, e: b.pop("events"), "events"),
    ("no protocol", lambda b, e: b.pop("protocol"), "protocol"),
    ("no device_id", lambda b, e: b.pop("device_id"), "device_id"),
    ("no device clock", lambda b, e: b["status"].pop("device_clock"), "status.device_clock"),
    ("no app version", lambda b, e: b["status"].pop("app_version"), "status.app_version"),
    ("no text in a note", lambda b, e: e[2]["payload"].pop("text"), "events.2.payload.text"),
    ("not_done without reason", lambda b, e: e[1]["payload"].update(status="not_done"), "events.1.payload.reason"),
    # unknown fields
    ("unknown top-level field", lambda b, e: b.update(admin=True), "admin"),
    ("unknown status field", lambda b, e: b["status"].update(battery=12), "status.battery"),
    ("unknown field in a note", lambda b, e: e[2]["payload"].update(author_id=1), "events.2.payload.author_id"),
    ("sealed and plain at once", lambda b, e: e[2].update(sealed="x" * 200), "events.2"),
    # unknown event types
    ("empty type", lambda b, e: e[2].update(type=""), "events.2.type"),
    ("type in capitals", lambda b, e: e[2].update(type="VISIT_STARTED"), "events.2.type"),
    ("type null", lambda b, e: e[2].update(type=None), "events.2.type"),
    ("an invented type", lambda b, e: e[2].update(type="visit_deleted"), "events.2.type"),
    # timestamps far in the past or the future, or not timestamps
    ("year one", lambda b, e: e[2].update(occurred_at="0001-01-01T00:00:00+00:00"), "events.2.occurred_at"),
    ("month 13", lambda b, e: e[2].update(occurred_at="2026-13-01T08:00:00+01:00"), "events.2.occurred_at"),
    ("offset +25:00", lambda b, e: e[2].update(occurred_at="2026-11-23T08:00:00+25:00"), "events.2.occurred_at"),
    ("empty timestamp", lambda b, e: e[2].update(occurred_at=""), "events.2.occurred_at"),
    ("adjusted start before 1970", lambda b, e: e[0]["payload"].update(at="1969-07-20T20:17:00+00:00",
                                                                      adjust_reason="x"), "events.0.payload.at"),
    ("device clock in year 9999", lambda b, e: b["status"].update(device_clock="9999-12-31T23:59:59-14:00"),
     "status.device_clock"),
    ("device clock not a time", lambda b, e: b["status"].update(device_clock="now"), "status.device_clock"),
    # invalid UUIDs
    ("id empty", lambda b, e: e[2].update(id=""), "events.2.id"),
    ("id a number", lambda b, e: e[2].update(id=12345), "events.2.id"),
    ("id too short", lambda b, e: e[2].update(id="1234-5678"), "events.2.id"),
    ("id with an injection", lambda b, e: e[2].update(id="' OR 1=1 --"), "events.2.id"),
    ("id nearly a uuid", lambda b, e: e[2].update(id=str(uuid.uuid4())[:-1] + "g"), "events.2.id"),
    # odd Unicode and long text
    ("note of 4001 characters", lambda b, e: e[2]["payload"].update(text="å" * 4001), "events.2.payload.text"),
    ("empty note", lambda b, e: e[2]["payload"].update(text=""), "events.2.payload.text"),
    ("comment of 2001 characters", lambda b, e: e[1]["payload"].update(comment="x" * 2001),
     "events.1.payload.comment"),
    ("NUL in an app version", lambda b, e: b["status"].update(app_version="1.0\x00"), "status.app_version"),
    ("app version of 33 chars", lambda b, e: b["status"].update(app_version="1" * 33), "status.app_version"),
    ("injection as the device id", lambda b, e: b.update(device_id="dev'; DROP TABLE devices;--"), "device_id"),
    ("html as a view", lambda b, e: e[3]["payload"].update(view="<b>overview</b>"), "events.3.payload.view"),
]


@pytest.mark.parametrize("what, mutate, field", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_push_is_422_naming_the_field_and_nothing_is_applied(app, worker, what, mutate, field):
    body = worker.push_body(_good_batch(worker))
    mutate(body, body["events"])
    before = _state(app)
    r = worker.client.post("/api/sync/push", data=json.dumps(body), headers={**worker.headers,
                                                                             "Content-Type": "application/json"})
    assert r.status_code == 422, (what, r.status_code, r.json)
    assert r.json["code"] == "validation_error" and r.json["status"] == 422 and r.json["message"]
    assert any(key == field or key.startswith(field + ".") for key in r.json["errors"]), (what, r.json["errors"])
    assert all(isinstance(m, str) and m for msgs in r.json["errors"].values() for m in msgs)
    assert _state(app) == before, f"{what}: part of the batch was applied"


@pytest.mark.parametrize("raw, content_type", [
    (b"", "application/json"),
    (b"{\"protocol\": 1,", "application/json"),  # cut off mid-way, as a dropped upload
    (b"\xff\xfe{}", "application/json"),  # not UTF-8
    (b"null", "application/json"),
    (json.dumps({"protocol": 1}).encode(), "text/plain"),  # JSON, but not said to be
    (b"protocol=1&events=[]", "application/x-www-form-urlencoded"),
    (b"[" * 50_000 + b"]" * 50_000, "application/json"),  # nesting deeper than any parser's recursion
])
def test_a_body_that_is_not_a_json_object_is_a_clear_4xx(app, worker, raw, content_type):
    before = _state(app)
    r = worker.client.post("/api/sync/push", data=raw, headers={**worker.headers, "Content-Type": content_type})
    assert r.status_code in (400, 422), r.status_code
    assert r.json["code"] in ("invalid_json", "validation_error") and r.json["message"]
    assert _state(app) == before


@pytest.mark.parametrize("top", [[], 1, "events", True])
def test_a_json_body_that_is_not_an_object_is_422(app, worker, top):
    r = worker.client.post("/api/sync/push", json=top, headers=worker.headers)
    assert r.status_code == 422 and r.json["errors"]


def test_a_body_over_the_size_limit_is_413_before_anything_is_read(app, worker):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    visit = worker.package["visits"][0]
    events = [worker.event("note_added", {"client_id": visit["client_id"], "text": "x" * 4000}) for _ in range(20)]
    before = _state(app)
    r = worker.push(events)
    assert r.status_code == 413 and r.json["status"] == 413
    assert _state(app) == before


def test_exactly_the_limits_are_accepted(app, worker):
    """The catalogue's limits are limits, not off by one: 4000 characters and 100 events go through."""
    visit = worker.package["visits"][0]
    note = worker.event("note_added", {"client_id": visit["client_id"], "text": "å" * 4000})
    rest = [worker.event("client_record_opened", {"client_id": visit["client_id"], "view": "overview"})
            for _ in range(99)]
    r = worker.push([note] + rest)
    assert r.status_code == 200 and {x["status"] for x in r.json["results"]} == {"applied"}


@pytest.mark.parametrize("text", INJECTIONS + ["Zalgo: Z̴̡̧a̷l̸g̵o̶", "\u200b\u200d\ufeff zero-width", "👩🏽‍⚕️ 🇸🇪",
                                               "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 RTL", "a\r\nb\tc"])
def test_odd_text_is_stored_verbatim_and_harmless(app, worker, text):
    visit = worker.package["visits"][0]
    e = worker.event("deviation_reported", {"category": "other", "description": text, "client_id": visit["client_id"]})
    assert worker.push([e]).json["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.query(Event).filter_by(id=e["id"]).one().payload["description"] == text
    assert worker.push([e]).json["results"][0]["status"] == "duplicate", "the same text fingerprints the same"


@pytest.mark.parametrize("body, fields", [
    ({"username": "w" * 65, "password": "demo", "device_id": "dev-12345678"}, {"username"}),
    ({"username": "worker1", "password": ["demo"], "device_id": "dev-12345678"}, {"password"}),
    ({"username": "worker1", "password": "demo", "device_id": "has spaces in it"}, {"device_id"}),
    ({"username": "worker1", "password": "demo", "device_id": "short"}, {"device_id"}),
    ({"username": "worker1", "password": "demo", "device_id": "d" * 65}, {"device_id"}),
    ({"username": "worker1", "password": "demo", "device_id": "dev-12345678", "role": "admin"}, {"role"}),
    ({"username": None, "password": None, "device_id": None}, {"username", "password", "device_id"}),
    ({"username": "worker1", "password": "p" * 257, "device_id": "dev-12345678"}, {"password"}),
])
def test_bad_login_input_is_422_with_field_messages(client, body, fields):
    r = client.post("/api/auth/token", json=body)
    assert r.status_code == 422 and set(r.json["errors"]) >= fields, r.json


@pytest.mark.parametrize("name", INJECTIONS + ["worker1\x00", "worker1 ", "WORKER1"])
def test_injection_in_the_username_is_just_a_wrong_login(client, name):
    r = client.post("/api/auth/token", json={"username": name, "password": "demo", "device_id": "dev-12345678"})
    assert r.status_code in (401, 422) and r.json["code"] in ("invalid_credentials", "validation_error")


@pytest.mark.parametrize("cursor", INJECTIONS + ["", "a" * 500, "eyJ1IjoxfQ.forged"])
def test_a_damaged_or_hostile_pull_cursor_means_a_full_package(worker, cursor):
    r = worker.client.get("/api/sync/pull", query_string={"cursor": cursor}, headers=worker.headers)
    assert r.status_code == 200 and r.json["full"] is True


def test_unknown_or_oversized_pull_parameters_are_422(worker):
    assert worker.client.get("/api/sync/pull?since=0", headers=worker.headers).status_code == 422
    r = worker.client.get("/api/sync/pull", query_string={"cursor": "a" * 501}, headers=worker.headers)
    assert r.status_code == 422 and "cursor" in r.json["errors"]


@pytest.mark.parametrize("path", ["/api/clients/0", "/api/clients/-1", "/api/clients/99999999999999999999",
                                  "/api/clients/1%20OR%201=1", "/api/clients/1'", "/api/devices/%00/revoke"])
def test_hostile_path_parameters_are_404_or_4xx_never_5xx(auth, path):
    admin = auth.login("admin1")
    r = admin.client.open(path, method="POST" if path.endswith("revoke") else "GET", headers=admin.headers)
    assert 400 <= r.status_code < 500 and r.json["code"], (path, r.status_code)


@pytest.mark.parametrize("query", ["unit_id=1%20OR%201=1", "from=yesterday", "from=2026-02-30", "to=2026-01-01&from=2026-02-01",
                                   "to=9999-12-31", "from=0001-01-01",
                                   "client_id=abc", "user_id=-5", "unit_id=99999999999999999999"])
def test_hostile_dashboard_queries_are_4xx_with_field_messages(auth, query):
    """(Years 1 and 9999 overflowed the date arithmetic into a 500; schemathesis found it.)"""
    manager = auth.login("manager1")
    r = manager.get(f"/api/dashboard/access-log?{query}")
    assert r.status_code in (403, 422), (query, r.status_code)
    if r.status_code == 422:
        assert r.json["errors"]


def test_an_access_check_for_an_impossible_period_is_422(auth):
    manager = auth.login("manager1")
    r = manager.post("/api/dashboard/access-checks", json={"from": "9999-12-31", "to": "9999-12-31",
                                                          "note": "Stickprov."})
    assert r.status_code == 422 and "from" in r.json["errors"] and "to" in r.json["errors"]


# -- the edge of every other endpoint (issue 27.6): query integers, text, dates and nesting, each a 4xx naming the
# field. Each entry: who asks, method, path with query, JSON body (None: none), the field the answer must name.
EDGE_CATALOGUE = [
    # query-string integers: Unicode digits, past the column (32 bits), past 64 bits, NUL, a sign
    ("manager1", "GET", "/api/dashboard/access-log?before_at=2026-01-01T00:00Z&before_id=9223372036854775808", None,
     "before_id"),
    ("manager1", "GET", "/api/dashboard/access-log?before_at=2026-01-01T00:00Z&before_id=18446744073709551616", None,
     "before_id"),
    ("manager1", "GET", "/api/dashboard/access-log?before_id=5", None, "before_id"),  # half a cursor
    ("manager1", "GET", "/api/dashboard/access-log?before_at=0001-01-01T00:00%2B14:00&before_id=5", None,
     "before_at"),
    ("manager1", "GET", "/api/dashboard/access-log?client_id=%C2%B2", None, "client_id"),  # '²'
    ("manager1", "GET", "/api/dashboard/access-log?user_id=%D9%A3", None, "user_id"),  # Arabic-Indic three
    ("manager1", "GET", "/api/dashboard/access-log?limit=%00", None, "limit"),
    ("manager1", "GET", "/api/dashboard/backlog?limit=-1", None, "limit"),
    ("manager1", "GET", "/api/dashboard/trends?days=9223372036854775808", None, "days"),
    ("manager1", "GET", "/api/dashboard/people?unit_id=2147483648", None, "unit_id"),
    ("admin1", "GET", "/api/backfill-queue?outage_id=2147483648", None, "outage_id"),
    ("admin1", "GET", "/api/backfill-queue?outage_id=%C2%B2", None, "outage_id"),
    ("admin1", "GET", "/api/backfill-queue?worker_id=9223372036854775808", None, "worker_id"),
    ("admin1", "GET", "/api/backfill-queue?overdue=%00", None, "overdue"),
    # NUL in query-string text
    ("admin1", "GET", "/api/quarantine?code=%00", None, "code"),
    ("admin1", "GET", "/api/quarantine?code=" + "x" * 33, None, "code"),
    ("admin1", "GET", "/api/outages?status=%00", None, "status"),
    ("worker1", "GET", "/api/sync/pull?cursor=%00", None, "cursor"),
    # days outside 2000–2099
    ("manager1", "GET", "/api/dashboard/access-log?from=0001-01-01", None, "from"),
    ("manager1", "GET", "/api/dashboard/registrations.csv?to=9999-12-31", None, "to"),
    ("manager1", "POST", "/api/dashboard/access-checks", {"from": "0001-01-01", "to": "2026-01-01", "note": "Stickprov."},
     "from"),
    ("manager1", "POST", "/api/dashboard/access-checks", {"from": "2026-01-01", "to": "9999-12-31", "note": "Stickprov."},
     "to"),
    # text fields: NUL and lone surrogates (any worker can call the push subscription)
    ("manager1", "POST", "/api/dashboard/access-checks", {"from": "2026-01-01", "to": "2026-01-02", "note": "ok\x00"},
     "note"),
    ("manager1", "POST", "/api/dashboard/access-checks", {"from": "2026-01-01", "to": "2026-01-02", "note": "ok\ud800"},
     "note"),
    ("manager1", "POST", "/api/dashboard/access-checks", {"from": "2026-01-01", "to": "2026-01-02", "note": "Stickprov.",
                                                         "client_id": 2**63}, "client_id"),
    ("worker1", "POST", "/api/push/subscriptions", {"endpoint": "https://fcm.googleapis.com/\udc00",
                                                    "keys": {"p256dh": "x", "auth": "y"}}, "endpoint"),
    ("worker1", "POST", "/api/push/subscriptions", {"endpoint": "https://fcm.googleapis.com/a\x00",
                                                    "keys": {"p256dh": "x", "auth": "y"}}, "endpoint"),
    ("worker1", "POST", "/api/push/subscriptions", {"endpoint": "https://fcm.googleapis.com/a",
                                                    "keys": {"p256dh": "\ud800", "auth": "y"}}, "keys.p256dh"),
    ("worker1", "DELETE", "/api/push/subscriptions", {"endpoint": "\ud800"}, "endpoint"),
    ("worker1", "DELETE", "/api/push/subscriptions", {"endpoint": "\x00"}, "endpoint"),
    ("worker1", "POST", "/api/auth/token", {"username": "worker1\ud800", "password": "demo",
                                            "device_id": "dev-12345678"}, "username"),
]


@pytest.mark.parametrize("who, method, path, body, field", EDGE_CATALOGUE,
                         ids=[f"{c[1]} {c[2][:60]} {c[4]}" for c in EDGE_CATALOGUE])
def test_every_endpoints_edge_answers_4xx_naming_the_field(app, auth, who, method, path, body, field):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is an answer to see, as a real server gives it
    s = auth.login(who)
    data = None if body is None else json.dumps(body).encode()  # a lone surrogate travels as a JSON escape
    r = s.client.open(path, method=method, data=data, headers={**s.headers, "Content-Type": "application/json"})
    assert r.status_code in (400, 422), (path, r.status_code, r.get_data(as_text=True)[:300])
    assert any(k == field or k.startswith(field + ".") for k in r.json["errors"]), r.json["errors"]


@pytest.mark.parametrize("who, method, path", [
    ("worker1", "POST", "/api/sync/push"), ("worker1", "POST", "/api/auth/token"),
    ("worker1", "POST", "/api/push/subscriptions"), ("worker1", "DELETE", "/api/push/subscriptions"),
    ("manager1", "POST", "/api/dashboard/access-checks"), ("admin1", "POST", "/api/outages"),
    ("admin1", "POST", "/api/backfills"), ("admin1", "POST", "/api/absences")])
@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b'{"a": ' + b"[" * 33 + b"]" * 33 + b"}",
                                 b'{"a": ' + b"{\"b\": " * 40 + b"1" + b"}" * 40 + b"}"],
                         ids=["100000 deep", "past JSON_MAX_DEPTH (lists)", "past JSON_MAX_DEPTH (objects)"])
def test_deep_json_is_400_naming_the_body_on_every_json_endpoint(app, auth, who, method, path, raw):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    s = auth.login(who)
    for encoding in ("identity", "gzip"):
        import gzip
        data = gzip.compress(raw) if encoding == "gzip" else raw
        r = s.client.open(path, method=method, data=data, headers={
            **s.headers, "Content-Type": "application/json", "Content-Encoding": encoding})
        assert r.status_code == 400 and r.json["errors"] == {"_body": r.json["errors"]["_body"]}, (encoding, r.status_code)


def test_json_as_deep_as_allowed_is_read(app, auth):
    """The limit is a limit: a push (4 deep) and a body exactly JSON_MAX_DEPTH deep are read, not refused."""
    s = auth.login("manager1")
    depth = app.config["JSON_MAX_DEPTH"]
    r = s.client.post("/api/dashboard/access-checks", data=b'{"note": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}",
                      headers={**s.headers, "Content-Type": "application/json"})
    assert r.status_code == 422 and "note" in r.json["errors"], "read, then refused for what the note is"
