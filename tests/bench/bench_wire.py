"""Bytes on the wire, over real HTTP from gunicorn: a typical worker's shift package as the phone receives
it (gzip from Flask-Compress), and push bytes per event in a batch of 40: sealed as the PWA sends it (v2, one
session key, deflated plaintext, the body gzipped — tests/bench/municipality.py's phones, the same as
tests/e2e/test_pwa_sealed_v2.py measures from Chromium), sealed v1 as app ≤ 1.1 sent it, and plain.

The demo municipality is the data: about 15 visits of today and tomorrow morning per worker, with care
plans, person cards and medication lists for every client in them.
"""
import gzip
import http.client
import json
import sys
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from tests.bench import harness
from tests.bench.report import Report

GOAL_PACKAGE_BYTES = 20 * 1024
GOAL_PUSH_BYTES_PER_EVENT = 200
PUSH_BATCH = 40


def call(base, method, path, body=None, headers=None):
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    raw = response.read()  # as it came over the wire, still compressed
    conn.close()
    return response, raw


def login(base, username):
    body = json.dumps({"username": username, "password": "demo", "device_id": f"bench-wire-{uuid.uuid4().hex[:8]}"})
    response, raw = call(base, "POST", "/api/auth/token", body, {"Content-Type": "application/json"})
    assert response.status == 200, raw[:300]
    return json.loads(raw)


def shift_events(package, count):
    """What a worker records through a shift, in the PWA's event format, until `count` events."""
    now = datetime.now(timezone.utc)
    events, seq = [], 0
    visits = package["visits"] or []
    while len(events) < count and visits:
        for visit in visits:
            seq_events = [("visit_started", {"visit_id": visit["id"]})]
            seq_events += [("intervention_recorded", {"visit_id": visit["id"], "intervention_id": i["id"],
                                                      "status": "done"}) for i in visit["interventions"]]
            seq_events += [("note_added", {"client_id": visit["client_id"], "visit_id": visit["id"],
                                           "text": "Pigg i dag, åt hela frukosten."}),
                           ("visit_ended", {"visit_id": visit["id"]})]
            for type_, payload in seq_events:
                seq += 1
                at = (now - timedelta(minutes=2 * (count - seq))).astimezone(timezone(timedelta(hours=1)))
                events.append({"id": str(uuid.uuid4()), "type": type_, "occurred_at": at.isoformat(timespec="milliseconds"),
                               "device_seq": seq, "payload": payload})
            if len(events) >= count:
                break
    return events[:count]


def wire_gzip(data):
    """gzip as the PWA's CompressionStream does it (zlib's default level)."""
    from tests.bench.municipality import GZIP_LEVEL
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def push_body(device_id, items, **extra):
    return {"protocol": 1, "device_id": device_id, **extra, "events": items,
            "status": {"pending": len(items), "device_clock": datetime.now(timezone.utc).isoformat(),
                       "app_version": "1.2.0"}}


def main():
    from server.sealing import SessionSealer, seal
    from tests.bench.municipality import dumps, wire as gzipped_push
    report = Report("wire")
    with harness.instance() as env:
        harness.migrate(env)
        with harness.app_context(env):
            from server.demo import seed
            seed()
        with harness.gunicorn(env) as (base, _):
            sizes = []
            for username in ("worker1", "worker2", "worker7"):
                login_answer = login(base, username)
                auth = {"Authorization": f"Bearer {login_answer['token']}"}
                response, wire = call(base, "GET", "/api/sync/pull", headers={**auth, "Accept-Encoding": "gzip"})
                encoding = response.getheader("Content-Encoding")
                raw = gzip.decompress(wire) if encoding == "gzip" else wire
                package = json.loads(raw)
                sizes.append((len(wire), len(raw), encoding, len(package["visits"]), len(package["clients"]),
                              sum(1 for c in package["clients"] if c["medication_list"]), username))
            sizes.sort()
            wire_bytes, raw_bytes, encoding, visits, clients, meds, who = sizes[len(sizes) // 2]  # the median worker
            report.figure("shift_package_gzip", "Shift package on the wire (median worker)", wire_bytes, "B",
                          goal=GOAL_PACKAGE_BYTES, better="lower",
                          detail=f"{who}: {visits} visits, {clients} clients ({meds} with medication lists); "
                                 f"{raw_bytes:,} B uncompressed; Content-Encoding {encoding}; "
                                 f"all three workers: {[s[0] for s in sizes]} B")
            report.figure("shift_package_raw", "Shift package uncompressed (median worker)", raw_bytes, "B",
                          better="lower")

            login_answer = login(base, "worker1")
            _, raw = call(base, "GET", "/api/sync/pull", headers={"Authorization": f"Bearer {login_answer['token']}"})
            package = json.loads(raw)
            events = shift_events(package, PUSH_BATCH)
            jwk = login_answer["outbox_key"]["jwk"]
            from cryptography.hazmat.primitives.asymmetric import ec
            from server.sealing import b64url_decode
            public = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_decode(jwk["x"]), "big"),
                                                   int.from_bytes(b64url_decode(jwk["y"]), "big"),
                                                   ec.SECP256R1()).public_key()
            device = login_answer["device_id"]
            push_auth = {"Authorization": f"Bearer {login_answer['push_token']}"}

            def send(body, headers):
                response, answer = call(base, "POST", "/api/sync/push", body, {**headers, **push_auth})
                return sorted({r["status"] for r in json.loads(answer)["results"]}) if response.status == 200 \
                    else [f"HTTP {response.status}"]

            plain = dumps(push_body(device, events))
            sealer = SessionSealer(public)  # one unlocked session of the PWA: one ephemeral key
            v2 = push_body(device, [{"id": e["id"], "k": "0", "sealed": sealer.seal(e)} for e in events],
                           keys={"0": sealer.epk})
            v2_json = dumps(v2)
            v2_wire, v2_headers = gzipped_push(v2)
            v1 = dumps(push_body(device, [{"id": e["id"], "sealed": seal(public, e)} for e in events]))
            statuses = send(v2_wire, v2_headers)
            v1_statuses = send(v1, {"Content-Type": "application/json"})  # the same event ids: duplicates
            n = len(events)
            report.figure("push_sealed_per_event", f"Push bytes per event, sealed, batch of {n}",
                          round(len(v2_wire) / n), "B", goal=GOAL_PUSH_BYTES_PER_EVENT, better="lower",
                          detail=f"what the PWA sends: sealed v2 (one session key, deflate-raw plaintext), "
                                 f"body {len(v2_wire):,} B with Content-Encoding gzip ({len(v2_json):,} B JSON, "
                                 f"{len(v2_json) / n:.0f} B/event); the server answered {statuses}")
            report.figure("push_sealed_v1_per_event", f"Push bytes per event, sealed v1 (app ≤ 1.1), batch of {n}",
                          round(len(v1) / n), "B", better="lower",
                          detail=f"one ephemeral key per event, plain JSON body {len(v1):,} B as app 1.1 sent it; "
                                 f"gzip would make it {len(wire_gzip(v1)) / n:.0f} B/event; the server answered "
                                 f"{v1_statuses} (the same event ids again)")
            report.figure("push_plain_per_event", f"Push bytes per event, plain, batch of {n}",
                          round(len(plain) / n), "B", goal=GOAL_PUSH_BYTES_PER_EVENT, better="lower",
                          detail=f"request body {len(plain):,} B; gzip would make it "
                                 f"{len(wire_gzip(plain)) / n:.0f} B/event")
            response, answer = call(base, "POST", "/api/sync/push", v2_wire,
                                    {**v2_headers, "Accept-Encoding": "gzip", **push_auth})
            report.figure("push_answer_per_event", f"Push answer bytes per event, batch of {n}",
                          round(len(answer) / n), "B", better="lower",
                          detail=f"{len(answer):,} B, Content-Encoding {response.getheader('Content-Encoding')}")
    report.save()


if __name__ == "__main__":
    sys.exit(main())
