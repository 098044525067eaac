"""After an outage the records go out by themselves (issue 27, items 8 and 9): the server process is killed, the
worker records offline while the phone's retries pile up, the server comes back — and with the app simply open,
nobody pressing "Synka nu", the outbox drains within the backoff's cap, the status line stops saying "Servern nås
inte", and the phone reports its now empty outbox so the managers' backlog shows 0 for it."""
import time
from tests.support.waits import wait_js

PIN = "2580"
RETRY_CAP_S = 30  # pwa/js/config.js RETRY_MAX_MS: what a phone with waiting records waits at most

SYNC_META = """() => new Promise((res, rej) => { const r = indexedDB.open('hemvard'); r.onerror = () => rej(r.error);
  r.onsuccess = () => { const q = r.result.transaction('meta').objectStore('meta').get('sync');
    q.onsuccess = () => { r.result.close(); res(q.result || {}); }; }; })"""

# An outage of an hour leaves a phone with about 16 failed tries behind it (2 s, 4 s, 8 s, … doubling); a test
# cannot wait an hour, so it starts the phone's count there. The next failure then computes its wait from it.
SET_FAILURES = """(n) => new Promise((res, rej) => { const r = indexedDB.open('hemvard'); r.onerror = () => rej(r.error);
  r.onsuccess = () => { const db = r.result; const tx = db.transaction('meta', 'readwrite'); const meta = tx.objectStore('meta');
    const q = meta.get('sync'); q.onsuccess = () => meta.put({ ...(q.result || {}), failures: n }, 'sync');
    tx.oncomplete = () => { db.close(); res(); }; }; })"""


def poll(page, what, check, timeout):
    """Look every 200 ms until `check()` is true; the assertion names what did not happen."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        page.wait_for_timeout(200)  # not time.sleep: Playwright delivers the page's events meanwhile


def test_after_an_outage_the_outbox_drains_by_itself_and_the_backlog_says_0(pwa, live_server, push_body):
    page = pwa.page
    pwa.enrol("worker1", PIN)
    first, second = pwa.visit_ids()[:2]
    pushes = []
    page.on("request", lambda r: pushes.append(r) if r.url.endswith("/api/sync/push") else None)

    live_server.stop()
    pwa.go(f"#/visit/{first}")
    page.get_by_role("button", name="Starta besök").click()
    poll(page, "a failed try", lambda: page.evaluate(SYNC_META).get("failures", 0) >= 1, 20)
    page.evaluate(SET_FAILURES, 16)
    expected = 1 + pwa.record_visit(second)
    pwa.add_note(first, "Bad om att få prata med sjuksköterskan i morgon.")
    expected += 1
    pending = pwa.wait_pending(expected)
    assert "Servern nås inte" in pwa.status_text()
    sync = page.evaluate(SYNC_META)
    assert sync["failures"] >= 17  # the retries went on and failed
    assert max(sync["recent_delays_ms"]) <= RETRY_CAP_S * 1000  # yet no wait was longer than the cap

    pushes.clear()
    live_server.start()
    # Nobody touches the phone: no "Synka nu", no network event, no focus. The retry already scheduled (at most
    # RETRY_CAP_S after the last failure, which was before the restart) finds the server; +5 s for the request.
    poll(page, "the outbox drained by itself", lambda: pwa.pending() == [], RETRY_CAP_S + 5)
    wait_js(page, "() => !document.querySelector('#statusbar').textContent.includes('Servern nås inte')")
    assert "Allt synkat" in pwa.status_text()

    ids = {e["id"] for e in pending}
    stored = live_server.query("SELECT id FROM events")
    assert ids <= {r["id"] for r in stored}
    bodies = [push_body(r) for r in pushes]
    carrying = [b for b in bodies if b["events"]]
    assert carrying and carrying[0]["status"]["pending"] == expected  # the batch said what it carried
    # …and once applied, the phone said again what it holds: nothing.
    assert any(not b["events"] and b["status"]["pending"] == 0 for b in bodies[bodies.index(carrying[-1]):])

    def backlog():
        (row,) = live_server.query("SELECT d.status_pending FROM devices d JOIN users u ON u.id = d.user_id "
                                   "WHERE u.username = 'worker1' AND d.revoked_at IS NULL")
        return row["status_pending"]
    poll(page, "the managers' backlog shows 0 for the phone", lambda: backlog() == 0, 5)

