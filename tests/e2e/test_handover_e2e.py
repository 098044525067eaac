"""Till nästa besök in real Chromium against a real server: worker A writes a handover note with no network, it
syncs; worker B's phone gets it at its next sync and shows it on the visit (and marks the visit on Today), offline
too after a reload, until B taps "Läst" — after which the server sends it to nobody. axe-clean, 44 px targets."""
import json
from datetime import datetime, timezone

from playwright.sync_api import expect
from tests.support.axe import axe_violations
from tests.support.idb import readable_text

from tests.e2e.conftest import PHONE, PwaDriver
from tests.support.waits import wait_js

PIN = "2580"
TEXT = "Larmet är nytt – koden ligger i nyckelgömman. Fråga om hon har ätit, glömde lunchen i dag."


def later_visit_of(live_server, username):
    """The last visit in the user's shift package (one that is still to come), via a pull of its own."""
    status, package = live_server.request("/api/sync/pull", token=live_server.login(username, f"probe-{username}")["token"])
    assert status == 200
    return max(package["visits"], key=lambda v: v["planned_start"])


def test_a_handover_written_offline_reaches_the_next_visit_and_stays_readable_offline(
        pwa, live_server, context, browser, page_problems, shots):
    # worker A's phone: write the note at a visit, with no network
    pwa.enrol("worker1", PIN)
    page_a = pwa.page
    a_visit = pwa.visit_ids()[0]
    [client] = live_server.query("SELECT client_id FROM visits WHERE id = :id", id=a_visit)
    b_visit = later_visit_of(live_server, "worker2")
    assert b_visit["planned_end"] > datetime.now(timezone.utc).isoformat()
    live_server.query("UPDATE visits SET client_id = :c WHERE id = :v", c=client["client_id"], v=b_visit["id"])

    context.set_offline(True)
    pwa.go(f"#/visit/{a_visit}")
    checkbox = page_a.locator("label.check")
    assert checkbox.bounding_box()["height"] >= 44
    page_a.fill("#note-text", TEXT)
    checkbox.click()
    assert page_a.is_checked("#note-handover")
    shots(page_a.locator("form:has(#note-text)"), "handover-note-form")
    page_a.click("#note-save")
    wait_js(page_a, "() => document.querySelector('#note-text').value === ''")
    pwa.wait_pending(1)
    context.set_offline(False)
    pwa.sync_now()
    pwa.wait_pending(0)
    [stored] = live_server.query("SELECT id, payload FROM events WHERE type = 'note_added'")
    assert json.loads(stored["payload"]) == {"client_id": client["client_id"], "visit_id": a_visit, "text": TEXT,
                                             "handover": True}

    # worker B's phone syncs: the note is on B's later visit of that client, and Today marks the visit
    phone_b = browser.new_context(viewport=PHONE, locale="sv-SE", timezone_id="Europe/Stockholm",
                                  service_workers="allow", device_scale_factor=1)
    phone_b.set_default_timeout(20000)
    try:
        b = PwaDriver(page_problems.watch(phone_b.new_page()), live_server)
        b.enrol("worker2", PIN)
        page_b = b.page
        assert b_visit["id"] in b.visit_ids()
        expect(page_b.locator(f".visit-link[href='#/visit/{b_visit['id']}'] .badge.handover")).to_have_text(
            "Till nästa besök")
        b.go(f"#/visit/{b_visit['id']}")
        card = page_b.locator("#handover")
        expect(card).to_contain_text(TEXT)
        assert page_b.locator(".handover-read").bounding_box()["height"] >= 44
        assert axe_violations(page_b) == []
        shots(page_b, "handover-visit", full_page=False)

        # the paper fallback carries it too, on the form of each of B's visits of that client (late in the day the
        # window holds tomorrow's too)
        b.go("#/print")
        page_b.select_option("#print-period", "0")
        expect(page_b.locator(".handover-print").first).to_contain_text(TEXT)
        b.sync_now()  # printing logs the clients as opened (records of its own): sent, so the outbox is empty
        b.wait_pending(0)
        b.go(f"#/visit/{b_visit['id']}")

        # no network, the app reloaded: still there, from the encrypted copy on the phone
        phone_b.set_offline(True)
        page_b.reload()
        b.unlock(PIN)  # back on the visit it showed
        expect(page_b.locator("#handover")).to_contain_text(TEXT)
        raw = b.dump_indexeddb()
        assert raw["hemvard"]["vault"]["values"] and TEXT[:20] not in readable_text(raw)  # stored encrypted only
        page_b.click(".handover-read")  # "Läst", still offline
        expect(page_b.locator("#handover")).to_have_count(0)
        b.go("#/today")
        expect(page_b.locator(".badge.handover")).to_have_count(0)
        b.wait_pending(1)
        phone_b.set_offline(False)
        b.sync_now()
        b.wait_pending(0)
        assert axe_violations(page_b) == []
    finally:
        phone_b.close()
    [ack] = live_server.query("SELECT payload FROM events WHERE type = 'handover_acknowledged'")
    assert json.loads(ack["payload"]) == {"note_id": stored["id"], "client_id": client["client_id"]}
    for username in ("worker2", "worker1"):
        status, package = live_server.request(
            "/api/sync/pull", token=live_server.login(username, f"after-{username}")["token"])
        assert status == 200 and package["handovers"] == []
