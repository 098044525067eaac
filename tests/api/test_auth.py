"""Tokens are bound to user and device, expire, can be revoked, and guessing passwords is slowed down."""
import time

from itsdangerous import URLSafeTimedSerializer

from server.extensions import db
from server.models import AccessLog, Device


def test_login_returns_tokens_settings_and_the_outbox_key(auth):
    s = auth.login("worker1")
    assert s.user["role"] == "worker" and s.user["unit"]["name"] == "Hemtjänst Norr"
    assert s.login["outbox_key"]["jwk"]["crv"] == "P-256"
    assert s.login["settings"]["copy_age_warn_minutes"] == 60
    assert s.login["settings"]["pbkdf2_iterations"] >= 600_000


def test_wrong_password_is_401_without_saying_which_part_was_wrong(client):
    r = client.post("/api/auth/token", json={"username": "worker1", "password": "nope", "device_id": "dev-12345678"})
    assert r.status_code == 401 and r.json["code"] == "invalid_credentials"
    r = client.post("/api/auth/token", json={"username": "nobody", "password": "x", "device_id": "dev-12345678"})
    assert r.status_code == 401 and r.json["code"] == "invalid_credentials"


def test_repeated_failures_are_throttled(app, client):
    app.config["LOGIN_MAX_FAILURES"] = 3
    body = {"username": "worker2", "password": "wrong", "device_id": "dev-12345678"}
    codes = [client.post("/api/auth/token", json=body).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    ok = client.post("/api/auth/token", json={**body, "password": "demo"})
    assert ok.status_code == 429, "even the right password waits until the window has passed"
    assert ok.headers["Retry-After"]


def test_login_validation_errors_name_the_fields(client):
    r = client.post("/api/auth/token", json={"username": "", "device_id": "x"})
    assert r.status_code == 422
    assert set(r.json["errors"]) >= {"username", "password", "device_id"}


def test_missing_tampered_and_foreign_tokens_are_401(auth, client):
    s = auth.login("worker1")
    assert client.get("/api/sync/pull").json["code"] == "token_missing"
    tampered = s.login["token"][:-2] + ("AA" if not s.login["token"].endswith("AA") else "BB")
    r = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {tampered}"})
    assert r.status_code == 401 and r.json["code"] == "token_invalid"
    forged = URLSafeTimedSerializer("not-our-secret", salt="hemvard-device-token").dumps(
        {"u": s.user["id"], "d": s.device_id, "g": 0, "s": "full"})
    r = client.get("/api/sync/pull", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json["code"] == "token_invalid"


def test_a_token_signed_with_a_key_since_rotated_is_refused(app, auth, client):
    s = auth.login("worker1")
    assert client.get("/api/sync/pull", headers=s.headers).status_code == 200
    app.config["SECRET_KEY"] = "another key, as after a rotation"
    r = client.get("/api/sync/pull", headers=s.headers)
    assert r.status_code == 401 and r.json["code"] == "token_invalid"


def test_expired_token_is_401(app, auth, client):
    s = auth.login("worker1")
    app.config["TOKEN_MAX_AGE"] = 1
    time.sleep(2.1)
    r = client.get("/api/sync/pull", headers=s.headers)
    assert r.status_code == 401 and r.json["code"] == "token_expired"


def test_revoked_device_is_401_and_told_to_wipe(app, auth, client):
    s = auth.login("worker1")
    admin = auth.login("admin1")
    assert admin.post(f"/api/devices/{s.device_id}/revoke").status_code == 200
    r = client.get("/api/sync/pull", headers=s.headers)
    assert r.status_code == 401 and r.json["code"] == "device_revoked" and r.json["wipe"] is True
    # The same device id cannot be enrolled again (the app makes a new one).
    r = client.post("/api/auth/token", json={"username": "worker1", "password": "demo", "device_id": s.device_id})
    assert r.status_code == 409


def test_revoking_is_unit_scoped(auth):
    s = auth.login("worker7")  # Hemtjänst Söder
    admin_norr = auth.login("admin1")
    assert admin_norr.post(f"/api/devices/{s.device_id}/revoke").status_code == 404
    assert auth.login("worker1").post(f"/api/devices/{s.device_id}/revoke").status_code == 403


def test_a_device_id_is_bound_to_one_user(auth, client):
    s = auth.login("worker1")
    r = client.post("/api/auth/token", json={"username": "worker2", "password": "demo", "device_id": s.device_id})
    assert r.status_code == 409 and r.json["code"] == "device_id_taken"


def test_push_token_cannot_read(auth, client):
    s = auth.login("worker1")
    r = client.get("/api/sync/pull", headers=s.push_headers)
    assert r.status_code == 401 and r.json["code"] == "scope"


def test_role_denials_are_logged(app, auth):
    s = auth.login("manager1")
    assert s.get("/api/sync/pull").status_code == 403
    with app.app_context():
        denied = db.session.query(AccessLog).filter_by(outcome="denied").one()
        assert denied.action == "GET /api/sync/pull" and denied.user_id == s.user["id"]
        assert db.session.get(Device, s.device_id) is not None


def _guess(app, username, n):
    """One thread's login with a wrong password, on its own test client (its own request and session)."""
    return app.test_client().post("/api/auth/token", json={"username": username, "password": "fel-gissning",
                                                            "device_id": f"dev-guess-{n:04d}"}).status_code


def test_parallel_guesses_cannot_exceed_the_failure_limit(app):
    """Issue 27.3: 25 guesses at once against a limit of 10 — exactly 10 are checked, the rest 429."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from server.models import LoginFailure
    start = threading.Barrier(25)

    def guess(n):
        start.wait()
        return _guess(app, "worker1", n)

    with ThreadPoolExecutor(max_workers=25) as pool:
        codes = list(pool.map(guess, range(25)))
    assert sorted(codes) == [401] * 10 + [429] * 15, codes
    with app.app_context():
        assert db.session.query(LoginFailure).filter_by(username="worker1").count() == 10


def test_parallel_guesses_at_many_usernames_cannot_exceed_the_limit_per_address(app):
    """Guessing 40 usernames at once from one address: exactly 3 × 10 are checked, the rest 429."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from server.models import LoginFailure
    start = threading.Barrier(40)

    def guess(n):
        start.wait()
        return _guess(app, f"gissad{n:02d}", n)

    with ThreadPoolExecutor(max_workers=40) as pool:
        codes = list(pool.map(guess, range(40)))
    limit = 3 * app.config["LOGIN_MAX_FAILURES"]
    assert sorted(codes) == [401] * limit + [429] * (40 - limit), codes
    with app.app_context():
        assert db.session.query(LoginFailure).filter_by(remote_addr="127.0.0.1").count() == limit


def test_a_correct_password_gives_its_slot_back(app, client):
    from server.models import LoginFailure
    for n in range(9):
        assert _guess(app, "worker1", n) == 401
    for _ in range(3):  # the right password again and again: never counted, never locked out
        r = client.post("/api/auth/token", json={"username": "worker1", "password": "demo",
                                                 "device_id": "dev-right-0001"})
        assert r.status_code == 200
    with app.app_context():
        assert db.session.query(LoginFailure).filter_by(username="worker1").count() == 9


def test_an_unknown_username_is_checked_against_a_dummy_hash(client, monkeypatch):
    """So it costs what a wrong password costs (timing is not asserted: the hash check is counted)."""
    from server import auth as auth_module
    checked = []
    real = auth_module.check_password_hash

    def counting(pwhash, password):
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(auth_module, "check_password_hash", counting)
    for name, password in (("ingen-sadan-anvandare", "demo"), ("worker1", "fel"), ("worker1", "demo")):
        client.post("/api/auth/token", json={"username": name, "password": password, "device_id": "dev-12345678"})
    assert len(checked) == 3, "every attempt checks one hash, whether the user exists or not"
    assert checked[0] == auth_module._dummy_hash() and checked[1] == checked[2] != checked[0]
