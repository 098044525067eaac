"""Sealed events v2 from the real PWA (docs/protocol.md, "SealedEventV2"): Chromium runs pwa/js/crypto.js,
the server's own code opens what it sealed, and recorded visits reach the server as v2 in a gzipped body.
Also: a v1 entry sealed before the update still goes out (as v1) and is applied, and a browser without
CompressionStream falls back to v1 and a plain body."""
import gzip
import json
import uuid

import pytest

from server.sealing import SessionSealer, b64url_decode, load_or_create_key, unseal, unseal_v2

PIN = "2580"


def shift_events(visits, count):
    """What a worker records through a shift (as tests/bench/bench_wire.py does), `count` events."""
    events = []
    while len(events) < count:
        for visit in visits:
            kinds = [("visit_started", {"visit_id": visit["id"]})]
            kinds += [("intervention_recorded", {"visit_id": visit["id"], "intervention_id": i["id"], "status": "done"})
                      for i in visit["interventions"]]
            kinds += [("note_added", {"client_id": visit["client_id"], "visit_id": visit["id"],
                                      "text": "Pigg i dag, åt hela frukosten."}),
                      ("visit_ended", {"visit_id": visit["id"]})]
            events += [{"type": t, "payload": p} for t, p in kinds]
    return events[:count]


@pytest.fixture
def pushes(context, push_body):
    """Every push request that carries events: (headers, raw body, JSON, sent by the service worker)."""
    seen = []

    def watch(route):
        request = route.request
        body = push_body(request)
        if body.get("events"):
            seen.append((request.all_headers(), request.post_data_buffer, body, request.service_worker is not None))
        route.continue_()
    context.route("**/api/sync/push", watch)
    return seen


def test_the_pwa_seals_v2_with_one_session_key_and_the_server_opens_it(pwa, live_server):
    page = pwa.open().page
    page.wait_for_selector("#username")
    events = [{"id": str(uuid.uuid4()), "type": "visit_started", "occurred_at": "2026-03-29T08:02:11.000+02:00",
               "device_seq": n, "payload": {"visit_id": 17 + n}} for n in range(3)]
    out = page.evaluate("""async (events) => {
      const c = await import('/js/crypto.js');
      const key = await fetch('/api/sync/outbox-key').then((r) => r.json());
      await c.openSealer(key);  // what session.js does at unlock
      const session = [];
      for (const e of events) session.push(await c.sealEvent(e, key));
      c.closeSealer();  // the app locks: the next session has a new key
      await c.openSealer(key);
      const next = await c.sealEvent(events[0], key);
      c.closeSealer();
      return { session, next, v1: await c.seal(events[0], key.jwk) };
    }""", events)
    key = load_or_create_key(str(live_server.instance))

    epks = {s["epk"] for s in out["session"]}
    assert len(epks) == 1 and out["next"]["epk"] not in epks  # one ephemeral key per unlocked session
    (epk,) = epks
    assert len(b64url_decode(epk)) == 65 and b64url_decode(epk)[0] == 4  # raw uncompressed P-256 point
    for event, sealed in zip(events, out["session"]):
        assert unseal_v2(key, epk, sealed["sealed"], event["id"]) == event  # the server's own code opens it
        assert event["id"] not in json.dumps(sealed)
    assert len({b64url_decode(s["sealed"])[:12] for s in out["session"]}) == 3  # a fresh iv per event
    assert unseal_v2(key, out["next"]["epk"], out["next"]["sealed"], events[0]["id"]) == events[0]
    with pytest.raises(ValueError):  # the event id is the associated data
        unseal_v2(key, epk, out["session"][0]["sealed"], events[1]["id"])
    with pytest.raises(ValueError):  # another session's key does not open it
        unseal_v2(key, out["next"]["epk"], out["session"][0]["sealed"], events[0]["id"])
    assert unseal(key, out["v1"], events[0]["id"]) == events[0]  # v1 is kept for old browsers


def test_recorded_visits_go_out_sealed_v2_in_a_gzipped_body_and_are_applied(pwa, live_server, context, pushes):
    pwa.enrol("worker1", PIN)
    page = pwa.page
    first, second = pwa.visit_ids()[:2]
    context.set_offline(True)
    recorded = pwa.record_visit(first)
    # A record sealed by app 1.1 (v1, no session key) is still in the outbox after the update.
    old_id = str(uuid.uuid4())
    page.evaluate("""async ([id, visitId]) => {
      const c = await import('/js/crypto.js');
      const store = await import('/js/store.js');
      const dev = await store.getMeta('device');
      const event = { id, type: 'visit_started', occurred_at: new Date(Date.now() - 60000).toISOString(),
                      device_seq: 9000, payload: { visit_id: visitId } };
      const sealed = await c.seal(event, dev.outbox_key.jwk);
      await store.idb.tx(['outbox'], 'readwrite', (t) => store.idb.req(t.objectStore('outbox').put({
        id, device_seq: 9000, created_at: event.occurred_at, sealed, state: 'pending', kid: dev.outbox_key.kid,
        user_id: dev.user_id })));
    }""", [old_id, second])
    pending = pwa.wait_pending(recorded + 1)
    stored_epks = page.evaluate("""() => new Promise((res) => { const r = indexedDB.open('hemvard');
      r.onsuccess = () => { const q = r.result.transaction('outbox').objectStore('outbox').getAll();
        q.onsuccess = () => { r.result.close(); res(q.result.map((e) => e.epk || null)); }; }; })""")
    assert len({e for e in stored_epks if e}) == 1 and stored_epks.count(None) == 1

    context.set_offline(False)
    pwa.sync_now()
    pwa.wait_pending(0)

    headers, raw, body, _ = pushes[-1]
    assert headers.get("content-encoding") == "gzip" and raw[:2] == b"\x1f\x8b"
    items = {e["id"]: e for _, _, b, _ in pushes for e in b["events"]}
    assert set(items) == {e["id"] for e in pending}
    old = items.pop(old_id)
    assert set(old) == {"id", "sealed"}  # v1 as it was sealed
    assert all(set(e) == {"id", "k", "sealed"} for e in items.values())  # v2: the session key by reference
    refs = {e["k"] for e in items.values()}
    assert len(refs) == 1 and body["keys"][refs.pop()] in stored_epks
    key = load_or_create_key(str(live_server.instance))
    for _, _, b, _ in pushes:
        for e in b["events"]:
            if "k" in e:
                event = unseal_v2(key, b["keys"][e["k"]], e["sealed"], e["id"])
                assert event["type"] in ("visit_started", "visit_ended", "intervention_recorded")

    rows = live_server.query("SELECT id, type FROM events")
    assert {e["id"] for e in pending} <= {r["id"] for r in rows}  # every one applied, v2 and v1 alike
    assert live_server.query("SELECT count(*) AS n FROM quarantined_events")[0]["n"] == 0


def test_a_batch_of_40_as_the_pwa_sends_it(pwa, live_server, context, pushes, capsys):
    """Issue 8: push bytes per event in a batch of 40 ≤ 200 B — measured on what Chromium really sends."""
    pwa.enrol("worker1", PIN)
    page = pwa.page
    token = live_server.login("worker1", "e2e-sealed-v2-pull")["token"]
    status, package = live_server.request("/api/sync/pull", token=token)
    assert status == 200
    events = shift_events(package["visits"], 40)
    context.set_offline(True)
    sent = page.evaluate("""async (events) => {
      const outbox = await import('/js/outbox.js');
      const out = [];
      for (const e of events) out.push(await outbox.enqueue(e));
      return out;
    }""", events)
    pwa.wait_pending(40)
    context.set_offline(False)
    pwa.sync_now()
    pwa.wait_pending(0)

    batch = [(h, raw, b) for h, raw, b, _ in pushes if len(b["events"]) == 40]
    assert batch, [len(b["events"]) for _, _, b, _ in pushes]
    headers, raw, body = batch[0]
    assert headers.get("content-encoding") == "gzip" and len(body["keys"]) == 1
    assert {e["id"] for e in body["events"]} == {e["id"] for e in sent}
    assert len({r["id"] for r in live_server.query("SELECT id FROM events")} & {e["id"] for e in sent}) == 40

    # The same events as the server's twin (zlib level 9) and as v1 would send them, for comparison.
    key = load_or_create_key(str(live_server.instance))
    twin = SessionSealer(key.public_key())
    as_twin = {**body, "keys": {"0": twin.epk}, "events": [{"id": e["id"], "k": "0", "sealed": twin.seal(e)} for e in sent]}
    from server.sealing import seal
    as_v1 = {**body, "events": [{"id": e["id"], "sealed": seal(key.public_key(), e)} for e in sent]}
    as_v1.pop("keys")
    dumps = lambda b: json.dumps(b, separators=(",", ":")).encode()  # noqa: E731
    json_bytes = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    with capsys.disabled():
        print(f"\nPWA push, batch of 40, sealed v2 + gzip: {len(raw)} B = {len(raw) / 40:.0f} B/event "
              f"(JSON {json_bytes} B; the server's twin sealer: {len(gzip.compress(dumps(as_twin))) / 40:.0f} B/event; "
              f"v1 gzip {len(gzip.compress(dumps(as_v1))) / 40:.0f}, v1 plain {len(dumps(as_v1)) / 40:.0f} B/event)")
    assert len(raw) / 40 <= 200


def test_without_compression_streams_the_app_seals_v1_and_sends_plain_json(pwa, live_server, context, pushes):
    context.add_init_script("delete self.CompressionStream;")  # a browser from before 2023 (page only; the SW keeps it)
    pwa.enrol("worker2", PIN)
    visit = pwa.visit_ids()[0]
    context.set_offline(True)
    recorded = pwa.record_visit(visit)
    pending = pwa.wait_pending(recorded)
    context.set_offline(False)
    pwa.sync_now()
    pwa.wait_pending(0)
    assert pushes and all(raw[:1] == b"{" and "content-encoding" not in h for h, raw, _, worker in pushes if not worker)
    items = [e for _, _, b, _ in pushes for e in b["events"]]
    assert {e["id"] for e in items} >= {e["id"] for e in pending}
    assert all(set(e) == {"id", "sealed"} for e in items) and all("keys" not in b for _, _, b, _ in pushes)
    assert {e["id"] for e in pending} <= {r["id"] for r in live_server.query("SELECT id FROM events")}


def test_records_of_more_than_64_sessions_are_split_so_no_request_names_more_than_64_keys(pwa, live_server, context,
                                                                                          pushes):
    """A phone offline for days, unlocked again and again: the protocol allows 64 keys per request."""
    pwa.enrol("worker3", PIN)
    visit = pwa.visit_ids()[0]
    context.set_offline(True)
    page = pwa.page
    page.evaluate("""async (visitId) => {
      const outbox = await import('/js/outbox.js');
      const c = await import('/js/crypto.js');
      for (let n = 0; n < 66; n++) {
        c.closeSealer();  // as if the app had locked and been unlocked again
        await outbox.enqueue({ type: 'visit_started', payload: { visit_id: visitId } });
      }
    }""", visit)
    pending = pwa.wait_pending(66)
    context.set_offline(False)
    pwa.sync_now()
    pwa.wait_pending(0)
    bodies = [b for _, _, b, _ in pushes]
    assert max(len(b["keys"]) for b in bodies) == 64 and all(len(b["keys"]) <= 64 for b in bodies)
    assert {e["id"] for b in bodies for e in b["events"]} == {e["id"] for e in pending}
    assert {e["id"] for e in pending} <= {r["id"] for r in live_server.query("SELECT id FROM events")}


def test_locking_drops_the_session_key_and_the_next_unlock_makes_a_new_one(pwa, live_server, context):
    pwa.enrol("worker4", PIN)
    page = pwa.page
    visit = pwa.visit_ids()[0]
    context.set_offline(True)
    record = """async (visitId) => { const outbox = await import('/js/outbox.js');
      await outbox.enqueue({ type: 'visit_started', payload: { visit_id: visitId } }); }"""
    page.evaluate(record, visit)
    page.evaluate(record, visit)
    page.evaluate("async () => (await import('/js/session.js')).lock()")  # what auto-lock does
    page.wait_for_selector("#pin")
    pwa.unlock(PIN)
    page.wait_for_selector(".visit-link")
    page.evaluate(record, visit)
    ids = {e["id"] for e in pwa.wait_pending(3)}
    epks = page.evaluate("""() => new Promise((res) => { const r = indexedDB.open('hemvard');
      r.onsuccess = () => { const q = r.result.transaction('outbox').objectStore('outbox').index('device_seq').getAll();
        q.onsuccess = () => { r.result.close(); res(q.result.map((e) => e.epk)); }; }; })""")
    assert epks[0] == epks[1] != epks[2] and all(epks)
    context.set_offline(False)
    pwa.sync_now()
    pwa.wait_pending(0)
    assert ids <= {r["id"] for r in live_server.query("SELECT id FROM events")}  # both sessions' records applied
