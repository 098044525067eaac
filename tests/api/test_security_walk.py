"""A walk over EVERY endpoint in `app.url_map`: no one gets in where they don't belong, and it is logged.

New endpoints are covered the moment they are registered: a protected view is walked with every role
it does not allow (403, logged), without a token (401), with a push-only token (401), and as a user of
the other unit with the resources of that unit (403 logged, or 404). An endpoint without `require_auth`
must be listed in PUBLIC, deliberately. Every successful answer is also checked for the other unit's
client data (personal numbers), and every answer that shows client data must have left an access-log row.
"""
import pytest

from server.extensions import db
from server.models import AccessLog, Client, Unit, User

# Endpoints anyone may call, and why.
PUBLIC = {
    "web.index": "the app shell",
    "web.pwa_file": "static files of the app",
    "web.healthz": "load balancer health check, says nothing but ok/error",
    "metrics.metrics": "Prometheus scrape: 404 unless METRICS_TOKEN is set, then that bearer token; no personal data",
    "api.token": "login",
    "api.outbox_key": "the public key devices seal events to",
    "openapi.openapi_json": "the API description",
    "push.public_key": "the VAPID public key",
    "dashboard_pages.admin_home": "the administrators' shell page (data comes from the API)",
}
ROLES = {"worker": "worker1", "admin": "admin1", "manager": "manager1"}  # all of Hemtjänst Norr
OTHER_UNIT = {"worker": "worker7", "admin": "admin2", "manager": "manager2"}  # Hemtjänst Söder
MISSING_ID = 2_147_480_000
# Views that show client identities as part of reviewing the access log itself: the review is logged as
# one row (who reviewed, when, with what filter), not one "read" per client in the log being reviewed.
LOG_REVIEWS = {"dashboard.access_log", "dashboard.access_log_csv"}


def _walkable(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, app.view_functions[rule.endpoint]


def _call(session_or_client, method, url, headers=None):
    client = getattr(session_or_client, "client", session_or_client)
    headers = dict(getattr(session_or_client, "headers", {}), **(headers or {}))
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.open(url, method=method, headers=headers, **kwargs)


def _denied_rows(app):
    with app.app_context():
        return db.session.query(AccessLog).filter_by(outcome="denied").count()


@pytest.fixture
def world(app, auth):
    """Sessions for each role in both units, and resources that belong to Hemtjänst Söder."""
    sessions = {name: auth.login(name) for name in list(ROLES.values()) + list(OTHER_UNIT.values())}
    south_worker = sessions["worker7"]
    south_visit = south_worker.pull()["visits"][0]
    bad = south_worker.event("visit_started", {"visit_id": MISSING_ID})
    assert south_worker.push([bad]).json["results"][0]["status"] == "rejected"
    admin2 = sessions["admin2"]
    with app.app_context():
        south = db.session.query(Unit).filter_by(code="SODER").one()
        north = db.session.query(Unit).filter_by(code="NORR").one()
        south_clients = db.session.query(Client).filter_by(unit_id=south.id).all()
        north_clients = db.session.query(Client).filter_by(unit_id=north.id).all()
        south_id, north_id = south.id, north.id
        # Personal numbers mark client data unambiguously (names repeat between units and among relatives).
        south_secrets = {c.personal_number for c in south_clients}
        north_data = {c.id: {c.personal_number} for c in north_clients}
    from datetime import datetime, timedelta, timezone
    now = datetime.now(timezone.utc)
    outage = admin2.post("/api/outages", json={
        "kind": "unplanned", "title": "Verksamhetssystemet nere", "reporter_name": "Testare",
        "started_at": (now - timedelta(hours=8)).isoformat(), "ended_at": (now - timedelta(hours=1)).isoformat(),
        "unit_ids": [south_id]})
    assert outage.status_code == 201, outage.json
    outage_id = outage.json["id"]
    gaps = admin2.get(f"/api/outages/{outage_id}/gaps").json
    gap_list = gaps.get("gaps", gaps) if isinstance(gaps, dict) else gaps
    absence = admin2.post("/api/absences", json={"worker_id": south_worker.user["id"],
                                                 "from": now.date().isoformat()})
    assert absence.status_code == 201, absence.json
    token = admin2.post("/api/admin/integration-tokens", json={"name": "Söders planering"})
    assert token.status_code == 201, token.json
    resources = {
        "token_id": token.json["id"],
        "client_id": south_visit["client_id"], "unit_id": south_id, "device_id": south_worker.device_id,
        "outage_id": outage_id, "absence_id": absence.json["absences"][0]["id"], "qid": bad["id"],
        "gap_id": gap_list[0]["id"] if gap_list else MISSING_ID, "visit_id": south_visit["id"],
    }
    return {"sessions": sessions, "resources": resources, "south_secrets": south_secrets,
            "north_data": north_data, "north_unit": north_id}


def _url(rule, resources):
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = resources.get(arg, MISSING_ID if converter in ("IntegerConverter", "NumberConverter", "BoundedIntConverter")
                                    else "zz-no-such-thing")
    return rule.build(values, append_unknown=False)[1]


def test_every_endpoint_is_protected_or_deliberately_public(app):
    unprotected = sorted({rule.endpoint for rule, _, view in _walkable(app)
                          if not hasattr(view, "required_roles") and rule.endpoint not in PUBLIC})
    assert unprotected == [], "add require_auth, or list the endpoint in PUBLIC with the reason"
    for rule, _, view in _walkable(app):
        if hasattr(view, "required_roles"):
            assert set(view.required_roles) <= set(ROLES), rule.endpoint


def test_no_token_and_a_push_only_token_get_401_everywhere_but_push(app, client, world):
    push_only = world["sessions"]["worker1"]
    for rule, method, view in _walkable(app):
        if not hasattr(view, "required_roles"):
            continue
        url = _url(rule, world["resources"])
        r = _call(client, method, url)
        assert r.status_code == 401 and r.json["code"] == "token_missing", (method, url, r.status_code)
        if rule.endpoint == "api.push_events":
            continue  # the one door a push-only token opens (sealed events only; tested in test_push)
        r = _call(client, method, url, headers=push_only.push_headers)
        assert r.status_code == 401 and r.json["code"] == "scope", (method, url, r.status_code)


def test_every_role_that_may_not_use_an_endpoint_gets_403_and_is_logged(app, world):
    walked = 0
    for rule, method, view in _walkable(app):
        roles = getattr(view, "required_roles", None)
        if roles is None:
            continue
        url = _url(rule, world["resources"])
        for role in sorted(set(ROLES) - set(roles)):
            session = world["sessions"][ROLES[role]]
            before = _denied_rows(app)
            r = _call(session, method, url)
            assert r.status_code == 403 and r.json["code"] == "forbidden", (role, method, url, r.status_code)
            with app.app_context():
                row = db.session.query(AccessLog).filter_by(outcome="denied").order_by(AccessLog.id.desc()).first()
                assert _denied_rows(app) == before + 1 and row.user_id == session.user["id"]
                full, limit = f"{method} {url}", AccessLog.__table__.c.action.type.length
                assert row.action == full[:limit] and row.device_id == session.device_id
                assert len(full) <= limit or full in row.detail, "a long path is kept whole in the detail"
            walked += 1
    assert walked > 10


def test_another_units_resources_are_refused_and_the_attempt_logged(app, world):
    """Norr's staff, in every role an endpoint allows, asking for Söder's clients, devices, outages …"""
    walked = 0
    for rule, method, view in _walkable(app):
        roles = getattr(view, "required_roles", None)
        if roles is None or not rule.arguments:
            continue
        url = _url(rule, world["resources"])
        for role in roles:
            session = world["sessions"][ROLES[role]]
            before = _denied_rows(app)
            r = _call(session, method, url)
            assert r.status_code in (403, 404, 422), (role, method, url, r.status_code, r.json)
            body = r.get_data(as_text=True)
            assert not any(secret in body for secret in world["south_secrets"]), (role, method, url)
            if r.status_code == 403:
                assert _denied_rows(app) > before, f"403 without an access-log row: {role} {method} {url}"
            walked += 1
    assert walked > 10


def test_no_answer_to_anyone_contains_another_units_clients(app, world):
    for rule, method, view in _walkable(app):
        roles = getattr(view, "required_roles", None)
        if roles is None or rule.arguments or method != "GET":
            continue
        for role in roles:
            r = _call(world["sessions"][ROLES[role]], method, rule.rule)
            body = r.get_data(as_text=True)
            leaked = [s for s in world["south_secrets"] if s in body]
            assert leaked == [], (role, rule.rule, leaked[:3])


def test_every_answer_that_shows_client_data_left_an_access_log_row(app, world):
    """Whatever endpoint shows a client's personal number, the read is in the log."""
    shown_somewhere = set()
    for rule, method, view in _walkable(app):
        roles = getattr(view, "required_roles", None)
        if roles is None or method != "GET":
            continue
        for role in roles:
            session = world["sessions"][ROLES[role]]
            url = rule.rule if not rule.arguments else _url(rule, {**world["resources"],
                                                                  "client_id": min(world["north_data"])})
            with app.app_context():
                last = db.session.query(db.func.max(AccessLog.id)).scalar() or 0
            r = _call(session, method, url)
            if r.status_code != 200:
                continue
            body = r.get_data(as_text=True)
            shown = {cid for cid, marks in world["north_data"].items() if any(m in body for m in marks)}
            with app.app_context():
                logged = {row.client_id for row in db.session.query(AccessLog).filter(
                    AccessLog.id > last, AccessLog.user_id == session.user["id"], AccessLog.outcome == "allowed")}
            if rule.endpoint in LOG_REVIEWS:
                assert logged, f"{role} GET {url}: reviewing the access log is itself logged"
                continue
            assert shown <= logged, f"{role} GET {url} showed clients {sorted(shown - logged)} without logging it"
            shown_somewhere |= shown
    assert shown_somewhere, "the walk saw client data somewhere (pull, client record)"


# -- the content walk: no answer or export Norr's staff can fetch names or numbers anyone of Söder -----------------

# Query strings that make a GET answer show more than its default (every state, every route, a filter).
QUERIES = {
    "dashboard.access_log": ["", "outcome=denied", "client_id={client_id}", "user_id={user_id}", "limit=1000"],
    "dashboard.access_log_csv": ["", "outcome=denied", "client_id={client_id}", "user_id={user_id}"],
    "dashboard.registrations_csv": ["from={yesterday}&to={tomorrow}"],
    "outages.backfill_queue": ["route=all", "route=all&outage_id={outage_id}"],
    "outages.list_conflicts": ["state=all"],
    "outages.list_quarantine": ["state=all"],
    "outages.outage_gaps": [""],
}


def _mark_south(app):
    """Give every person of Söder a name nobody of Norr has, and return what must never reach Norr."""
    with app.app_context():
        south = db.session.query(Unit).filter_by(code="SODER").one()
        secrets = set()
        for n, c in enumerate(db.session.query(Client).filter_by(unit_id=south.id).order_by(Client.id)):
            c.name = f"Söderbrukare Nummer{n:02d}"
            card = dict(c.person_card or {})
            card["relatives"] = [dict(r, name=f"Söderanhörig Nummer{n:02d}") for r in card.get("relatives", [])]
            c.person_card = card
            secrets |= {c.name, c.personal_number, f"Söderanhörig Nummer{n:02d}"}
        for user in db.session.query(User).filter_by(unit_id=south.id):
            user.display_name = f"Söderpersonal {user.username.capitalize()}"
            secrets.add(user.display_name)
        db.session.commit()
    return secrets


def _yesterdays_outage(admin, unit_id, yesterday):
    r = admin.post("/api/outages", json={
        "kind": "unplanned", "title": "Verksamhetssystemet nere", "reporter_name": "Testare", "unit_ids": [unit_id],
        "started_at": f"{yesterday}T05:00:00+00:00", "ended_at": f"{yesterday}T13:00:00+00:00"})
    assert r.status_code == 201, r.json
    gaps = admin.get(f"/api/outages/{r.json['id']}/gaps").json["gaps"]
    assert gaps, "the outage left gaps (yesterday's visits had no registrations)"
    return r.json["id"], gaps


@pytest.fixture
def two_units(app, auth):
    """Both units busy with everything the answers join: registrations, notes, quarantine, outages, gaps,
    backfills, absences, denied reads in both directions — Söder's people under recognisable names."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    secrets = _mark_south(app)
    s = {name: auth.login(name) for name in ("worker1", "admin1", "manager1", "worker7", "admin2", "manager2")}
    today = datetime.now(ZoneInfo(app.config["TIMEZONE"])).date()  # the demo's days are Stockholm's, not UTC's
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    with app.app_context():
        north = db.session.query(Unit).filter_by(code="NORR").one().id
        south = db.session.query(Unit).filter_by(code="SODER").one().id
        north_client = db.session.query(Client).filter_by(unit_id=north).order_by(Client.id).first().id
        south_client = db.session.query(Client).filter_by(unit_id=south).order_by(Client.id).first().id
    for worker in (s["worker1"], s["worker7"]):  # device records, a note, an opened record, a rejected record
        visit = worker.pull()["visits"][0]
        events = [worker.event("visit_started", {"visit_id": visit["id"]}),
                  worker.event("note_added", {"client_id": visit["client_id"], "text": "Pigg och glad."}),
                  worker.event("client_record_opened", {"client_id": visit["client_id"], "view": "overview"}),
                  worker.event("visit_started", {"visit_id": MISSING_ID})]
        assert [x["status"] for x in worker.push(events).json["results"]] == ["applied"] * 3 + ["rejected"]
    north_outage, north_gaps = _yesterdays_outage(s["admin1"], north, yesterday)
    south_outage, south_gaps = _yesterdays_outage(s["admin2"], south, yesterday)
    gap = south_gaps[0]  # Söder's administrator backfills a gap, its worker registers the same visit late
    r = s["admin2"].post("/api/backfills", json={
        "visit_id": gap["visit"]["id"], "worker_id": gap["worker"]["id"], "information_source": "paper_form",
        "started_at": gap["visit"]["planned_start"], "ended_at": gap["visit"]["planned_end"]})
    assert r.status_code == 201, r.json
    for admin, worker in ((s["admin1"], s["worker1"]), (s["admin2"], s["worker7"])):
        r = admin.post("/api/absences", json={"worker_id": worker.user["id"], "from": tomorrow.isoformat()})
        assert r.status_code == 201, r.json
    # Denied reads both ways: Norr's staff reach for a Söder client; Söder's manager for a Norr client.
    for name in ("worker1", "admin1", "manager1"):
        assert s[name].get(f"/api/clients/{south_client}").status_code == 403
    assert s["manager2"].get(f"/api/clients/{north_client}").status_code == 403
    ids = {"client_id": north_client, "unit_id": north, "outage_id": north_outage, "gap_id": north_gaps[0]["id"],
           "user_id": s["worker1"].user["id"], "yesterday": yesterday, "tomorrow": tomorrow}
    foreign = {"client_id": south_client, "unit_id": south, "outage_id": south_outage, "gap_id": gap["id"],
               "user_id": s["worker7"].user["id"], "yesterday": yesterday, "tomorrow": tomorrow}
    return {"sessions": s, "secrets": secrets, "ids": ids, "foreign": foreign}


def _get_urls(app, ids):
    """Every GET route of the URL map that needs a token, with real ids and the query strings above."""
    for rule, method, view in _walkable(app):
        roles = getattr(view, "required_roles", None)
        if method != "GET" or roles is None:
            continue
        path = _url(rule, ids)
        for query in QUERIES.get(rule.endpoint, [""]):
            yield rule.endpoint, roles, path + ("?" + query.format(**ids) if query else "")


def test_no_get_answer_or_export_shows_another_units_names_or_personal_numbers(app, two_units):
    """As worker, administrator and manager of Norr, with Söder's ids and Norr's own, after denied reads both ways:
    every body and CSV is searched for Söder's client names, personal numbers, relatives and staff names."""
    seen, walked = {}, 0
    for ids in (two_units["ids"], two_units["foreign"]):
        for endpoint, roles, url in _get_urls(app, ids):
            for role in roles:
                r = two_units["sessions"][ROLES[role]].get(url)
                assert r.status_code < 500, (role, url, r.status_code)
                body = r.get_data(as_text=True)
                leaked = sorted(x for x in two_units["secrets"] if x in body)
                assert leaked == [], f"{role} GET {url} ({r.status_code}) shows Söder's {leaked[:4]}"
                seen[(endpoint, role)] = max(seen.get((endpoint, role), 0), r.status_code == 200)
                walked += 1
    assert walked > 40
    # The walk reached the answers that join people: it is not passing because everything was refused.
    for must in ("api.client", "dashboard.access_log", "dashboard.access_log_csv", "dashboard.registrations_csv",
                 "outages.backfill_queue", "outages.outage_gaps", "dashboard.backlog", "dashboard.readiness"):
        assert any(ok for (endpoint, _), ok in seen.items() if endpoint == must), must


def test_the_access_log_review_shows_a_denied_read_of_another_units_client_by_id_only(app, two_units):
    """A denied read must not reveal what was denied — on the page and in the CSV; and a Söder manager's
    refused reach into a Norr client shows that person by id only."""
    manager, ids, foreign = two_units["sessions"]["manager1"], two_units["ids"], two_units["foreign"]
    rows = manager.get("/api/dashboard/access-log?outcome=denied").json["rows"]
    theirs = [r for r in rows if r["client"] and r["client"]["id"] == foreign["client_id"]]
    assert theirs and all(r["client"] == {"id": foreign["client_id"], "name": None, "personal_number": None,
                                          "other_unit": True} for r in theirs)
    ours = [r for r in rows if r["client"] and r["client"]["id"] == ids["client_id"]]
    assert ours and all(r["user"]["other_unit"] and r["user"]["display_name"] is None for r in ours)
    assert any(r["user"]["display_name"] for r in theirs), "our own staff are still named"
    csv = manager.get("/api/dashboard/access-log.csv?outcome=denied").get_data(as_text=True)
    assert f"annan enhet (id {foreign['client_id']})" in csv
    assert f"annan enhet (id {two_units['sessions']['manager2'].user['id']})" in csv
