"""Security promises that are not about one endpoint: headers, login guessing, tokens, a lost phone."""
import os
import re
import time
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from server import create_app
from server.extensions import db
from server.models import AccessLog, Event, QuarantinedEvent
from server.sealing import seal
from server.web import PWA_DIR

# -- headers -----------------------------------------------------------------------------------------


def _csp(response):
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/sw.js", "/api/sync/outbox-key", "/api/openapi.json", "/healthz",
                                  "/api/no-such-thing", "/no-such-file.js"])
def test_every_answer_carries_the_security_headers(client, path):
    r = client.get(path)
    csp = _csp(r)
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"], "no inline or foreign script"
    assert "'unsafe-inline'" not in " ".join(sum(csp.values(), [])) and "'unsafe-eval'" not in str(csp)
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "geolocation=()" in r.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in r.headers, "HSTS only over HTTPS"
    assert "Set-Cookie" not in r.headers


def test_a_header_the_answer_set_itself_is_kept_and_not_doubled(client):
    r = client.get("/sw.js")  # the service worker must be revalidated: its own Cache-Control, not ours
    assert r.headers.getlist("Cache-Control") == ["no-cache"]
    assert len(r.headers.getlist("Content-Security-Policy")) == 1


def test_no_cookie_session_exists_to_steal_or_forge(client, app):
    """Bearer tokens only: a login sets no cookie, and code that tried to keep state in Flask's cookie
    session would fail loudly instead of sending a cookie (CSRF needs an ambient credential; there is none)."""
    login = client.post("/api/auth/token",
                        json={"username": "worker1", "password": "demo", "device_id": "dev-no-cookie-1"})
    assert login.status_code == 200 and "Set-Cookie" not in login.headers
    pull = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {login.json['token']}"})
    assert pull.status_code == 200 and "Set-Cookie" not in pull.headers
    from flask import session
    with app.test_request_context("/api/sync/pull"):
        with pytest.raises(RuntimeError, match="session is unavailable"):
            session["user_id"] = 1


def test_api_answers_are_not_cached(auth):
    s = auth.login("worker1")
    r = s.get("/api/sync/pull")
    assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("config, base_url, headers", [
    ({"PREFERRED_URL_SCHEME": "https"}, "https://hemvard.example", {}),  # configured for TLS
    ({}, "https://hemvard.example", {}),  # served over TLS directly
    ({"TRUSTED_PROXIES": 1}, "http://127.0.0.1", {"X-Forwarded-Proto": "https"}),  # TLS ends at the proxy
])
def test_over_https_hsts_is_sent(db_url, tmp_path, monkeypatch, config, base_url, headers):
    monkeypatch.setenv("HEMVARD_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "x", **config})
    r = app.test_client().get("/healthz", base_url=base_url, headers=headers)
    hsts = r.headers["Strict-Transport-Security"]
    assert int(hsts.split("=")[1].split(";")[0]) >= 31536000 and "includeSubDomains" in hsts


def test_a_forged_forwarded_proto_without_a_trusted_proxy_does_not_switch_on_hsts(client):
    r = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in r.headers


class _InlineScriptFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name.startswith("on"):
                self.problems.append(f"inline handler {name}=")
        if tag == "script":
            self._in_script = "src" not in attrs
        if tag == "a" and (attrs.get("href") or "").strip().lower().startswith("javascript:"):
            self.problems.append("javascript: link")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline <script>")


def test_no_page_of_the_app_needs_inline_script():
    """The CSP forbids inline script; a page that had some would silently break, so there is none."""
    pages = [os.path.join(root, name) for root, _, names in os.walk(PWA_DIR) for name in names
             if name.endswith(".html")]
    assert pages
    for page in pages:
        finder = _InlineScriptFinder()
        with open(page, encoding="utf-8") as fh:
            finder.feed(fh.read())
        assert finder.problems == [], page


# -- guessing passwords -----------------------------------------------------------------------------


def test_guessing_across_many_usernames_from_one_address_is_throttled(app, client):
    app.config["LOGIN_MAX_FAILURES"] = 2  # per user; an address gets three times that
    codes = [client.post("/api/auth/token", json={"username": f"nobody{i}", "password": "x",
                                                  "device_id": "dev-guesser-1"}).status_code for i in range(7)]
    assert codes == [401] * 6 + [429]
    r = client.post("/api/auth/token", json={"username": "worker5", "password": "demo", "device_id": "dev-guesser-1"})
    assert r.status_code == 429 and r.json["code"] == "too_many_attempts" and int(r.headers["Retry-After"]) > 0
    other = client.post("/api/auth/token", json={"username": "worker5", "password": "demo",
                                                 "device_id": "dev-honest-1"}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200, "another address is not punished for this one's guessing"


def test_a_throttled_login_does_not_reveal_whether_the_password_was_right(app, client):
    app.config["LOGIN_MAX_FAILURES"] = 1
    client.post("/api/auth/token", json={"username": "worker2", "password": "bad", "device_id": "dev-12345678"})
    right = client.post("/api/auth/token", json={"username": "worker2", "password": "demo", "device_id": "dev-12345678"})
    wrong = client.post("/api/auth/token", json={"username": "worker2", "password": "bad", "device_id": "dev-12345678"})
    assert right.status_code == wrong.status_code == 429 and right.json == wrong.json


# -- tokens -----------------------------------------------------------------------------------------


def _token(app, payload, age=0, secret=None, salt="hemvard-device-token"):
    """Sign like the server does, with a timestamp `age` seconds old: an old token without waiting."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - age

    return URLSafeTimedSerializer(secret or app.config["SECRET_KEY"], salt=salt, signer=PastSigner).dumps(payload)


def _claims(session, scope="full"):
    return {"u": session.user["id"], "d": session.device_id, "g": 0, "s": scope}


def test_a_token_older_than_its_lifetime_is_expired(app, auth, client):
    s = auth.login("worker1")
    old = _token(app, _claims(s), age=app.config["TOKEN_MAX_AGE"] + 60)
    r = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and r.json["code"] == "token_expired"
    fresh = _token(app, _claims(s), age=app.config["TOKEN_MAX_AGE"] - 60)
    assert client.get("/api/sync/pull", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


@pytest.mark.parametrize("change", [
    lambda c, other: c.update(u=other.user["id"]),  # my device, someone else's user id
    lambda c, other: c.update(d=other.device_id),  # my user id, someone else's device
    lambda c, other: c.update(g=1),  # an older or newer token generation
    lambda c, other: c.update(s="admin"),  # an invented scope
])
def test_signed_but_inconsistent_claims_are_refused(app, auth, client, change):
    mine, other = auth.login("worker1"), auth.login("worker2")
    claims = _claims(mine)
    change(claims, other)
    forged = _token(app, claims)  # correctly signed: as if the secret had leaked with a bug
    r = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json["code"] == "token_invalid"


def test_tampered_payload_and_other_signed_strings_are_not_tokens(app, auth, client):
    s = auth.login("worker1")
    payload, rest = s.login["token"].split(".", 1)
    admin = auth.login("admin1")
    swapped = admin.login["token"].split(".", 1)[0] + "." + rest  # admin's claims with worker's signature
    cursor = s.pull()["cursor"]  # signed with the same secret, another salt
    for token in (swapped, cursor, "", "Bearer", "x" * 5000, s.login["token"] + "."):
        r = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json["code"] in ("token_invalid", "token_missing"), token[:40]
    r = client.get("/api/sync/pull", headers={"Authorization": s.login["token"]})  # no "Bearer "
    assert r.status_code == 401 and r.json["code"] == "token_missing"
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_a_deactivated_account_loses_its_tokens_at_once_but_its_phone_still_delivers(app, auth, client):
    s = auth.login("worker1")
    first = s.pull()["visits"][0]
    visit_id = first["id"]
    recorded = s.event("visit_started", {"visit_id": visit_id})  # made offline before the deactivation
    with app.app_context():
        from server.models import User
        db.session.get(User, s.user["id"]).active = False
        db.session.commit()
    assert client.get("/api/sync/pull", headers=s.headers).status_code == 401
    r = client.post("/api/auth/token", json={"username": "worker1", "password": "demo", "device_id": "dev-new-phone"})
    assert r.status_code == 401 and r.json["code"] == "invalid_credentials"
    delivered = s.push([recorded])  # what the phone holds still goes in, checked as any record
    assert delivered.status_code == 200 and delivered.json["results"][0]["status"] == "applied", delivered.json
    assert client.get(f"/api/clients/{first['client_id']}", headers=s.headers).status_code == 401  # nothing read


def test_revoking_one_phone_leaves_the_workers_other_phone_working(app, auth, client):
    lost, kept = auth.login("worker1"), auth.login("worker1")
    assert auth.login("admin1").post(f"/api/devices/{lost.device_id}/revoke").status_code == 200
    assert client.get("/api/sync/pull", headers=lost.headers).json["code"] == "device_revoked"
    assert client.get("/api/sync/pull", headers=kept.headers).status_code == 200


def test_revoking_another_units_phone_is_a_404_and_the_attempt_is_logged(app, auth, client):
    south_phone = auth.login("worker7")
    admin = auth.login("admin1")
    r = admin.post(f"/api/devices/{south_phone.device_id}/revoke")
    assert r.status_code == 404
    assert client.get("/api/sync/pull", headers=south_phone.headers).status_code == 200
    with app.app_context():
        row = db.session.query(AccessLog).filter_by(outcome="denied").one()
        assert row.user_id == admin.user["id"] and row.detail == "other_unit" and south_phone.device_id in row.action


# -- a lost phone: revoked, told to wipe, but only after what it recorded is delivered ------------------


def test_a_revoked_phone_delivers_everything_it_recorded_then_is_told_to_wipe(app, auth, client):
    worker = auth.login("worker1")
    package = worker.pull()
    visit = package["visits"][0]
    with app.app_context():
        public = app.extensions["outbox_key"].public_key()
    recorded = [worker.event("visit_started", {"visit_id": visit["id"]}),
                worker.event("client_record_opened", {"client_id": visit["client_id"], "view": "care_plan"}),
                worker.event("visit_ended", {"visit_id": visit["id"]})]
    admin = auth.login("admin1")
    assert admin.post(f"/api/devices/{worker.device_id}/revoke").status_code == 200

    # Reading is over at once, and the answer says to wipe what is readable on the phone.
    r = client.get("/api/sync/pull", headers=worker.headers)
    assert r.status_code == 401 and r.json == {**r.json, "code": "device_revoked", "wipe": True}

    # The sealed outbox is still delivered with the push token: every record gets a verdict, none is lost.
    sealed = [{"id": e["id"], "sealed": seal(public, e)} for e in recorded]
    r = worker.push(sealed, headers=worker.push_headers)
    assert r.status_code == 200 and r.json["wipe"] is True
    assert [(x["id"], x["status"], x["code"]) for x in r.json["results"]] == \
        [(e["id"], "rejected", "device_revoked") for e in recorded]
    again = worker.push([{"id": e["id"], "sealed": seal(public, e)} for e in recorded], headers=worker.push_headers)
    assert [x["code"] for x in again.json["results"]] == ["device_revoked"] * 3 and again.json["wipe"] is True
    with app.app_context():
        kept = {q.id: q for q in db.session.query(QuarantinedEvent)}
        assert set(kept) == {e["id"] for e in recorded}
        assert all(kept[e["id"]].raw["payload"] == e["payload"] for e in recorded), "kept as recorded"
        assert db.session.query(Event).count() == 0, "nothing from a revoked phone enters the books unchecked"

    # An administrator reviews and puts them into the books; the phone's resend is then "already received".
    for e in recorded:
        r = admin.post(f"/api/quarantine/{e['id']}/reapply", json={"note": "Kontrollerat med medarbetaren."})
        assert r.status_code in (200, 201), r.json
    with app.app_context():
        assert {e.id for e in db.session.query(Event)} == {e["id"] for e in recorded}


def test_a_revoked_phones_full_token_may_still_deliver_but_not_read(app, auth, client):
    worker = auth.login("worker1")
    visit = worker.pull()["visits"][0]
    auth.login("admin1").post(f"/api/devices/{worker.device_id}/revoke")
    e = worker.event("visit_started", {"visit_id": visit["id"]})
    r = worker.push([e])
    assert r.status_code == 200 and r.json["wipe"] is True and r.json["results"][0]["code"] == "device_revoked"
    assert client.get(f"/api/clients/{visit['client_id']}", headers=worker.headers).status_code == 401


# -- what a client-data read leaves behind ------------------------------------------------------------


def test_reading_a_client_record_is_logged_with_who_what_when_and_unit(app, auth):
    s = auth.login("worker1")
    visit = s.pull()["visits"][0]
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert s.get(f"/api/clients/{visit['client_id']}").status_code == 200
    with app.app_context():
        row = db.session.query(AccessLog).filter_by(action="read_client", client_id=visit["client_id"]).one()
        assert row.user_id == s.user["id"] and row.unit_id == s.user["unit"]["id"] and row.outcome == "allowed"
        assert row.at >= before and row.device_id == s.device_id


def test_the_app_makes_unguessable_device_and_event_ids():
    """A guessable device id could be enrolled first by someone else; event ids must never collide."""
    with open(os.path.join(PWA_DIR, "js", "session.js"), encoding="utf-8") as fh:
        assert re.search(r"device_id:\s*crypto\.randomUUID\(\)", fh.read())
    with open(os.path.join(PWA_DIR, "js", "outbox.js"), encoding="utf-8") as fh:
        assert re.search(r"id:\s*crypto\.randomUUID\(\)", fh.read())
