"""Sealed events v2 (one key per device session, deflated plaintext) and gzipped push bodies: what the PWA
sends to stay under 200 bytes per event on 4G (issue 8) — applied exactly like v1 and plain events."""
import gzip
import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server import sealing
from server.extensions import db
from server.models import Event
from server.sealing import SessionSealer, b64url, seal


@pytest.fixture
def worker(auth):
    s = auth.login("worker1")
    s.package = s.pull()
    return s


@pytest.fixture
def public(app):
    with app.app_context():
        return app.extensions["outbox_key"].public_key()


def _events(s, n=4):
    visit = s.package["visits"][0]
    out = [s.event("visit_started", {"visit_id": visit["id"]})]
    out += [s.event("note_added", {"client_id": visit["client_id"], "visit_id": visit["id"], "text": f"Anteckning {i}."})
            for i in range(n - 2)]
    return out + [s.event("visit_ended", {"visit_id": visit["id"]})]


def _v2(sealer, ref, events):
    return [{"id": e["id"], "k": ref, "sealed": sealer.seal(e)} for e in events]


def _push(s, items, keys=None, gzipped=False, raw=None):
    body = s.push_body(items)
    if keys is not None:
        body["keys"] = keys
    data = raw if raw is not None else json.dumps(body).encode()
    headers = dict(s.push_headers, **({"Content-Encoding": "gzip"} if gzipped else {}))
    return s.client.post("/api/sync/push", data=gzip.compress(data) if gzipped and raw is None else data,
                         content_type="application/json", headers=headers)


def test_v2_events_of_two_sessions_and_v1_events_in_one_gzipped_push_are_all_applied_once(app, worker, public):
    events = _events(worker, 6)
    a, b = SessionSealer(public), SessionSealer(public)  # e.g. before and after the phone was locked
    items = _v2(a, "a", events[:3]) + _v2(b, "b", events[3:5]) + [{"id": events[5]["id"], "sealed": seal(public, events[5])}]
    r = _push(worker, items, keys={"a": a.epk, "b": b.epk}, gzipped=True)
    assert r.status_code == 200, r.json
    assert [x["status"] for x in r.json["results"]] == ["applied"] * 6
    with app.app_context():
        stored = {e.id: e for e in db.session.query(Event).filter(Event.id.in_([e["id"] for e in events]))}
        assert set(stored) == {e["id"] for e in events}
        note = stored[events[1]["id"]]
        assert note.payload == events[1]["payload"] and note.device_seq == events[1]["device_seq"]
    again = _push(worker, _v2(SessionSealer(public), "z", events), keys={"z": SessionSealer(public).epk})
    assert again.status_code == 422  # sealed under another session's key: does not open
    r = _push(worker, _v2(a, "a", events), keys={"a": a.epk})
    assert [x["status"] for x in r.json["results"]] == ["duplicate"] * 6


def test_v2_is_smaller_than_plain_json_per_event(worker, public):
    events = _events(worker, 40)
    sealer = SessionSealer(public)
    body = worker.push_body(_v2(sealer, "a", events))
    body["keys"] = {"a": sealer.epk}
    sealed = len(gzip.compress(json.dumps(body, separators=(",", ":")).encode()))
    plain = len(json.dumps(worker.push_body(events), separators=(",", ":")).encode())
    assert sealed < plain  # 40 sealed, gzipped events cost less than the same events in plain JSON


@pytest.mark.parametrize("case", ["unknown_ref", "bad_point", "wrong_id", "tampered", "not_deflated"])
def test_a_v2_event_that_does_not_open_is_422_and_nothing_is_applied(app, worker, public, case):
    events = _events(worker, 2)
    sealer = SessionSealer(public)
    items, keys = _v2(sealer, "a", events), {"a": sealer.epk}
    if case == "unknown_ref":
        items[1]["k"] = "b"
    elif case == "bad_point":
        keys["a"] = "A" * 87  # 65 bytes that are not a point on P-256
    elif case == "wrong_id":
        items[1]["id"] = events[0]["id"]
    elif case == "tampered":
        s = items[1]["sealed"]
        items[1]["sealed"] = s[:-2] + ("AA" if s[-2:] != "AA" else "BA")
    elif case == "not_deflated":
        key = sealing._derive(app.extensions["outbox_key"].exchange(  # the right key, but JSON not deflated
            sealing.ec.ECDH(), sealing.ec.EllipticCurvePublicKey.from_encoded_point(
                sealing.ec.SECP256R1(), sealing.b64url_decode(sealer.epk))), sealing.INFO_V2)
        iv = os.urandom(12)
        plain = json.dumps({k: v for k, v in events[1].items() if k != "id"}).encode()
        items[1]["sealed"] = b64url(iv + AESGCM(key).encrypt(iv, plain, events[1]["id"].encode()))
    r = _push(worker, items, keys=keys)
    assert r.status_code == 422, r.json
    assert any(k.startswith("events.1.") for k in r.json["errors"]) or (case == "wrong_id" and r.json["errors"])
    with app.app_context():
        assert db.session.query(Event).filter(Event.id.in_([e["id"] for e in events])).count() == 0


def test_broken_or_bomb_gzip_bodies_are_refused_clearly(app, worker):
    assert _push(worker, [], gzipped=True, raw=b"\x1f\x8b not gzip").json["code"] == "invalid_encoding"
    assert _push(worker, [], gzipped=True, raw=gzip.compress(b"{}")[:-6]).json["code"] == "invalid_encoding"
    bomb = gzip.compress(b" " * (app.config["MAX_CONTENT_LENGTH"] + 1))  # a few kB that inflate past the limit
    r = _push(worker, [], gzipped=True, raw=bomb)
    assert r.status_code == 413 and r.json["code"] == "too_large"
    r = worker.client.post("/api/sync/push", data=b"{}", content_type="application/json",
                           headers=dict(worker.push_headers, **{"Content-Encoding": "br"}))
    assert r.status_code == 415 and r.json["code"] == "unsupported_encoding"
