"""Closing the loop in real Chromium against a real server: an offline deviation is received and handled on the
Avvikelser page; after an outage the Återföring list is ticked off until the loop is closed; the approval
page renders. axe-core on each, no CSP violations, nothing scrolls sideways at 360 px."""
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from tests.support.axe import axe_violations

from tests.e2e.test_dashboard import login, wait_loaded

STHLM = ZoneInfo("Europe/Stockholm")


def yesterday_at(hour, minute=0):
    day = datetime.now(STHLM).date() - timedelta(days=1)
    return datetime.combine(day, time(hour, minute), STHLM).astimezone(timezone.utc)


def push(server, session, device_id, events):
    now = datetime.now(timezone.utc).isoformat()
    status, body = server.request("/api/sync/push", {
        "protocol": 1, "device_id": device_id, "events": events,
        "status": {"pending": len(events), "device_clock": now, "app_version": "e2e"}}, token=session["token"])
    assert status == 200, body
    assert [r["status"] for r in body["results"]] == ["applied"] * len(events), body
    return body


def event(type_, payload, occurred_at, seq):
    return {"id": str(uuid.uuid4()), "type": type_, "occurred_at": occurred_at.isoformat(), "device_seq": seq,
            "payload": payload}


@pytest.fixture
def phone_records(live_server):
    """worker1's phone: a fall written two hours ago without network; yesterday 10:00–13:00 the journal system
    was down and the phone recorded a visit and a note in that window."""
    worker = live_server.login("worker1", "e2e-loop-worker1")
    status, package = live_server.request("/api/sync/pull", token=worker["token"])
    assert status == 200
    visit = package["visits"][0]
    fall = event("deviation_reported", {"category": "fall", "description": "Föll i hallen, ingen skada.",
                                        "client_id": visit["client_id"], "visit_id": visit["id"]},
                 datetime.now(timezone.utc) - timedelta(hours=2), 1)
    push(live_server, worker, "e2e-loop-worker1", [fall])
    admin = live_server.login("admin1", "e2e-loop-admin1")
    status, outage = live_server.request("/api/outages", {
        "kind": "unplanned", "title": "Journalsystemet nere", "reporter_name": "Fiktiv Anmälare",
        "started_at": yesterday_at(10).isoformat(), "ended_at": yesterday_at(13).isoformat(),
        "fault_type": "technical", "discovered_by_unit_id": 1}, token=admin["token"])
    assert status == 201, outage
    [row] = live_server.query(
        "SELECT v.id, v.client_id FROM visits v JOIN visit_workers w ON w.visit_id = v.id "
        "JOIN users u ON u.id = w.worker_id WHERE u.username = 'worker1' AND v.planned_start >= :lo "
        "AND v.planned_start < :hi ORDER BY v.planned_start LIMIT 1",
        lo=yesterday_at(10).replace(tzinfo=None), hi=yesterday_at(13).replace(tzinfo=None))
    push(live_server, worker, "e2e-loop-worker1", [
        event("visit_started", {"visit_id": row["id"]}, yesterday_at(10, 31), 2),
        event("note_added", {"client_id": row["client_id"], "visit_id": row["id"], "text": "Pigg, åt frukost."},
              yesterday_at(10, 40), 3),
        event("visit_ended", {"visit_id": row["id"]}, yesterday_at(10, 55), 4)])
    return live_server


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 360, "height": 740}],
                         ids=["desktop", "phone"])
def test_the_manager_receives_and_handles_an_offline_deviation_and_the_admin_closes_the_transfer_loop(
        browser, phone_records, page_problems, shots, viewport):
    server = phone_records
    context = browser.new_context(viewport=viewport, locale="sv-SE", timezone_id="Europe/Stockholm")
    try:
        page = page_problems.watch(context.new_page())
        login(page, server, "manager1")
        page.wait_for_url("**/admin/index.html")
        page.click(".admin-nav a[href='deviations.html']")
        page.wait_for_url("**/admin/deviations.html")
        wait_loaded(page)
        rows = page.locator("#dev-list tbody tr")
        assert rows.count() == 1
        assert "Fall" in rows.first.inner_text() and "offline" in rows.first.inner_text()
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        rows.first.get_by_role("button", name="Öppna").click()
        page.get_by_role("button", name="Ta emot").click()
        page.wait_for_selector("#dev-status .message.ok")
        page.fill("#dev-comment", "Fallrisk bedömd med sjuksköterskan.")
        page.get_by_role("button", name="Markera hanterad").click()
        page.wait_for_selector("#dev-detail ol li:nth-child(2)")
        history = page.locator("#dev-detail ol li").all_inner_texts()
        assert "Ny → Mottagen" in history[0] and "Fallrisk bedömd med sjuksköterskan." in history[1]
        assert page.locator("#dev-list tbody tr .pill.ok").inner_text() == "Hanterad"
        shots(page, f"loop-deviations-{viewport['width']}")

        page.click(".admin-nav a[href='approval.html']")
        wait_loaded(page)
        assert page.locator("#ap-totals .figure").count() == 8
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.click(".admin-header button:has-text('Logga ut')")

        login(page, server, "admin1")
        page.wait_for_url("**/admin/index.html")
        page.click(".admin-nav a[href='transfer.html']")
        wait_loaded(page)
        assert "Kvar att föra över" in page.locator("#tr-outages").inner_text()
        items = page.locator("#tr-list tbody tr")
        assert items.count() == 2  # the visit's times and the note; the fall was written after the outage
        assert "Pigg, åt frukost." in page.locator("#tr-list").inner_text()
        assert axe_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shots(page, f"loop-transfer-{viewport['width']}")
        page.emulate_media(media="print")  # the printable list: no menu or buttons, a box to tick per row
        assert page.locator(".admin-header").is_hidden() and page.locator("#tr-outages").is_hidden()
        assert page.locator("#tr-list .paper-box").count() == 2 and page.locator("#tr-list .paper-box").first.is_visible()
        assert page.locator("#tr-list button").first.is_hidden()
        assert "Pigg, åt frukost." in page.locator("#tr-list").inner_text()
        page.emulate_media(media="screen")
        page.locator("#tr-list button:has-text('Markera alla för')").first.click()
        page.wait_for_selector("#tr-counts .message.ok")
        assert "Alla 2 poster är överförda" in page.locator("#tr-counts").inner_text()
        assert "Klart" in page.locator("#tr-outages").inner_text()
    finally:
        context.close()
    assert not page_problems.items, page_problems.items
