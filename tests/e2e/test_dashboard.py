"""The managers' pages in real Chromium against a real server: login, charts at desktop and 360 px, axe-core,
no CSP violations, CSV download, and a worker turned away."""
from datetime import datetime, timezone
from pathlib import Path

import pytest
from tests.support.axe import axe_violations
from tests.support.waits import wait_js

DESKTOP = {"width": 1280, "height": 900}
PAGES = ["index.html", "readiness.html", "access-log.html", "exports.html"]


def now_iso():
    return datetime.now(timezone.utc).isoformat()


@pytest.fixture
def unit_with_backlog(live_server):
    """Norr's phones in three states: synced with a fresh copy, records waiting, never pulled a copy."""
    fresh = live_server.login("worker1", "e2e-phone-worker1")
    status, _ = live_server.request("/api/sync/pull", token=fresh["token"])
    assert status == 200
    waiting = live_server.login("worker2", "e2e-phone-worker2")
    status, body = live_server.request("/api/sync/push", {
        "protocol": 1, "device_id": "e2e-phone-worker2", "events": [],
        "status": {"pending": 4, "oldest_pending_at": now_iso(), "device_clock": now_iso(), "app_version": "1.0.0"}},
        token=waiting["token"])
    assert status == 200, body
    live_server.login("worker3", "e2e-phone-worker3")
    return live_server



def login(page, server, username="manager1"):
    page.goto(f"{server.url}/admin/")
    page.wait_for_url("**/admin/login.html**")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("button[type=submit]")


def wait_loaded(page):
    page.wait_for_selector("body[data-loaded=true]")


@pytest.mark.parametrize("viewport", [DESKTOP, {"width": 360, "height": 740}], ids=["desktop", "phone"])
def test_dashboard_pages_render_with_charts_and_pass_axe(browser, unit_with_backlog, page_problems, shots, viewport):
    server = unit_with_backlog
    context = browser.new_context(viewport=viewport, locale="sv-SE", timezone_id="Europe/Stockholm")
    try:
        page = page_problems.watch(context.new_page())
        login(page, server)
        page.wait_for_url("**/admin/index.html")
        wait_loaded(page)
        assert page.locator("svg.chart").count() >= 2  # backlog trend and sync-delay trend
        assert page.locator("#chart-backlog-box svg > title").text_content() == "Osynkade poster per dag"
        assert "Väntande poster: 4 st" in page.locator("#chart-backlog-box svg > desc").text_content()
        figures = page.locator("#totals .figure .value").all_inner_texts()
        assert figures[0] == "4"  # the records waiting on worker2's phone
        assert page.locator("#devices tbody tr").count() == 3
        assert "Hemtjänst Norr" in page.locator(".admin-header .who").inner_text()
        width = viewport["width"]
        for name in PAGES:
            if name != "index.html":
                page.click(f".admin-nav a[href='{name}']")
                page.wait_for_url(f"**/admin/{name}")
                wait_loaded(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
            violations = axe_violations(page)
            assert violations == [], (name, violations)
            shots(page, f"dashboard-{name.split('.')[0]}-{width}")
        page.click(".admin-nav a[href='readiness.html']")
        wait_loaded(page)
        assert page.locator("#chart-states-box svg.chart").count() == 1
        states = page.locator("#devices .pill").all_inner_texts()
        assert "aktuell" in states and "ingen kopia" in states
    finally:
        context.close()
    assert not page_problems.items, page_problems.items


def test_access_log_search_check_and_csv_download(browser, unit_with_backlog, page_problems):
    server = unit_with_backlog
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm",
                                  accept_downloads=True)
    try:
        page = page_problems.watch(context.new_page())
        login(page, server)
        wait_loaded(page)
        page.goto(f"{server.url}/admin/access-log.html")
        wait_loaded(page)
        # worker1's pull logged every client of the shift package
        page.select_option("#user_id", label=page.locator("#user_id option", has_text="(worker1)").inner_text())
        page.click("#search button[type=submit]")
        wait_js(page, "document.querySelectorAll('#rows tbody tr').length > 0")
        actions = set(page.locator("#rows tbody tr td:nth-child(4)").all_inner_texts())
        assert actions == {"Hämtade offline-kopian"}
        with page.expect_download() as info:
            page.click("#export")
        path = info.value.path()
        text = Path(path).read_bytes().decode("utf-8")
        assert text.startswith("\ufeffTidpunkt;Användare;") and "sync_pull" in text
        assert info.value.suggested_filename.startswith("atkomstlogg-hemtjanst-norr-")
        page.fill("#note", "Månadskontroll: stickprov på worker1, inga avvikelser.")
        page.click("#check-form button[type=submit]")
        page.wait_for_selector("#check-message .message.ok")
        # the message shows before the list of checks has reloaded: wait for the row, do not count at once
        wait_js(page, "document.querySelectorAll('#checks tbody tr').length === 1")
        wait_js(page, "document.querySelector('#checks-status').innerText.includes('Nästa kontroll senast')")
    finally:
        context.close()
    assert not page_problems.items, page_problems.items
    rows = server.query("SELECT rows_reviewed, note FROM access_checks")
    assert len(rows) == 1 and rows[0]["rows_reviewed"] > 0


def test_registrations_csv_downloads_from_the_export_page(browser, live_server, page_problems):
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm",
                                  accept_downloads=True)
    try:
        page = page_problems.watch(context.new_page())
        login(page, live_server, "admin1")
        wait_loaded(page)
        page.click(".admin-nav a[href='exports.html']")
        wait_loaded(page)
        with page.expect_download() as info:
            page.click("#export-form button[type=submit]")
        text = Path(info.value.path()).read_bytes().decode("utf-8")
        assert text.startswith("\ufeffBesöks-id;Datum;")
        assert info.value.suggested_filename.startswith("registreringar-hemtjanst-norr-")
    finally:
        context.close()
    assert not page_problems.items, page_problems.items


def test_a_worker_is_turned_away_and_a_missing_login_goes_to_the_login_page(page, live_server):
    page.goto(f"{live_server.url}/admin/readiness.html")
    page.wait_for_url("**/admin/login.html?next=readiness.html")
    page.fill("#username", "worker1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    alert = page.locator("#login-message [role=alert]")
    alert.wait_for()
    assert "enhetschefer och administratörer" in alert.inner_text()
    page.fill("#username", "manager2")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/readiness.html")
    page.wait_for_selector("body[data-loaded=true]")
    assert "Hemtjänst Söder" in page.locator(".admin-header .who").inner_text()
    assert page.evaluate("sessionStorage.getItem('hemvard-admin-session') !== null")


def test_english_is_one_click_away_and_stays_accessible(browser, live_server, page_problems):
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm")
    try:
        page = page_problems.watch(context.new_page())
        login(page, live_server)
        wait_loaded(page)
        assert page.locator("h1").inner_text() == "Osynkat och luckor"
        page.click(".admin-header button[lang=en]")
        wait_loaded(page)
        wait_js(page, "document.documentElement.lang === 'en'")
        assert page.locator("h1").inner_text() == "Unsynced records and gaps"
        assert page.locator(".admin-nav a[aria-current=page]").inner_text() == "Unsynced"
        assert axe_violations(page) == []
    finally:
        context.close()
    assert not page_problems.items, page_problems.items


def test_the_log_names_devices_clients_are_told_apart_and_readiness_speaks_of_visits(browser, live_server, page_problems):
    """Issue 31, item 10: no raw device ids, a client list that tells two of a name apart, no "pass" for the
    12-hour window."""
    status, body = live_server.request("/api/auth/token", {"username": "worker1", "password": "demo",
                                                           "device_id": "2f7c9a41-5be0-4c36-9d5e-0b8a1f3c7e22",
                                                           "device_name": "Pixel 7 · Chrome · 2026-12-07"})
    assert status == 200, body
    assert live_server.request("/api/sync/pull", token=body["token"])[0] == 200  # logs the shift's clients
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="sv-SE",
                                  timezone_id="Europe/Stockholm")
    try:
        page = page_problems.watch(context.new_page())
        login(page, live_server)
        wait_loaded(page)
        page.goto(f"{live_server.url}/admin/access-log.html")
        wait_loaded(page)
        wait_js(page, "document.querySelectorAll('#rows tbody tr').length > 0")
        devices = set(page.locator("#rows tbody tr td:nth-child(6)").all_inner_texts())
        assert any(d.startswith("Pixel 7 · Chrome · 2026-12-07 (registrerad ") for d in devices), devices
        assert not any("2f7c9a41-5be0" in d for d in devices)
        clients = page.locator("#client_id option").all_inner_texts()[1:]
        assert clients and all(" – " in c for c in clients)  # name – address
        assert len(set(clients)) == len(clients)
        assert axe_violations(page) == []
        page.goto(f"{live_server.url}/admin/readiness.html")
        wait_loaded(page)
        text = page.locator("main").inner_text()
        assert " pass" not in text and "passet" not in text
        assert "besök de närmaste" in text
    finally:
        context.close()
    assert not page_problems.items, page_problems.items


def test_a_manager_renames_a_phone_in_the_backlog_list(browser, unit_with_backlog, page_problems):
    server = unit_with_backlog
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="sv-SE",
                                  timezone_id="Europe/Stockholm")
    try:
        page = page_problems.watch(context.new_page())
        login(page, server)
        wait_loaded(page)
        row = page.locator("#devices tbody tr").filter(has_text="e2e-phone-worker2")
        row.get_by_role("button", name="Byt namn på e2e-phone-worker2").click()
        page.get_by_label("Telefonens nya namn").fill("Bilens telefon")
        assert axe_violations(page) == []
        page.locator("#devices").get_by_role("button", name="Spara").click()
        page.get_by_role("button", name="Byt namn på Bilens telefon").wait_for()
    finally:
        context.close()
    assert not page_problems.items, page_problems.items
    assert server.query("SELECT name FROM devices WHERE id = 'e2e-phone-worker2'") == [{"name": "Bilens telefon"}]
