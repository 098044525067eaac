"""The administrator's page "Personer och besök" in real Chromium: find a visit of today, move it to the evening
(Swedish local time), see its audit row; the worker's phone gets the moved visit at its next pull. axe-clean."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from tests.support.axe import axe_violations

DESKTOP = {"width": 1280, "height": 900}
TZ = ZoneInfo("Europe/Stockholm")


def at(value):
    """A time as SQLite keeps the UTC columns (naive) or as the API gives it (with an offset), in Stockholm."""
    moment = datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))).astimezone(TZ)


@pytest.fixture
def admin_page(browser, live_server, page_problems):
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm")
    page = page_problems.watch(context.new_page())
    page.goto(f"{live_server.url}/admin/login.html?next=manage.html")
    page.fill("#username", "admin1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/manage.html")
    page.wait_for_selector("body[data-loaded=true]")
    yield page
    context.close()
    assert not page_problems.items, page_problems.items


def test_an_administrator_finds_a_visit_moves_it_and_sees_the_audit_row(admin_page, live_server):
    page = admin_page
    phone = live_server.login("worker1", "e2e-phone-manage")
    status, first = live_server.request("/api/sync/pull", token=phone["token"])
    assert status == 200
    today = datetime.now(TZ).date()
    visit = next(v for v in first["visits"] if len(v["workers"]) == 1 and at(v["planned_start"]).date() == today)
    [client] = live_server.query("SELECT name FROM clients WHERE id = :id", id=visit["client_id"])
    label = f"Öppna {at(visit['planned_start']):%H:%M}–{at(visit['planned_end']):%H:%M} {client['name']}"

    assert page.locator(".admin-nav a[href='manage.html']").text_content() == "Personer och besök"
    page.fill("#q", "worker1")
    page.click("#search-form button[type=submit]")
    expect(page.get_by_role("button", name=label)).to_have_count(1)
    page.get_by_role("button", name=label).click()
    expect(page.locator("#detail-title")).to_contain_text(client["name"])
    assert page.locator("#visit-start").input_value() == f"{at(visit['planned_start']):%H:%M}"
    page.fill("#visit-start", "20:00")
    page.fill("#visit-end", "20:40")
    page.click("#visit-form button[type=submit]")
    expect(page.locator("#detail-status")).to_contain_text("Sparat")
    row = page.locator("#audit-trail tbody tr").first
    expect(row).to_contain_text("admin1")
    expect(row).to_contain_text("ändrad")
    assert f"{today:%Y-%m-%d} 20:00" in row.inner_text() and f"{today:%Y-%m-%d} 20:40" in row.inner_text()
    assert axe_violations(page) == []

    [stored] = live_server.query("SELECT planned_start, revision FROM visits WHERE id = :id", id=visit["id"])
    assert stored["revision"] == 1 and at(stored["planned_start"]).strftime("%H:%M") == "20:00"
    [entry] = live_server.query("SELECT actor, action FROM audit_trail WHERE entity = 'visit' AND entity_id = :id"
                                " AND actor <> 'flask demo'", id=visit["id"])  # past the demo's own import
    assert (entry["actor"], entry["action"]) == ("admin1", "changed")
    status, later = live_server.request(f"/api/sync/pull?cursor={first['cursor']}", token=phone["token"])
    [moved] = [v for v in later["visits"] if v["id"] == visit["id"]]
    assert moved["revision"] == 1 and at(moved["planned_start"]).strftime("%H:%M") == "20:00"


def test_the_staff_page_makes_a_code_that_logs_the_person_in_once(admin_page, live_server):
    page = admin_page
    page.select_option("#kind", "staff")
    page.fill("#q", "worker5")
    page.click("#search-form button[type=submit]")
    page.locator("#found tbody tr button").first.click()
    expect(page.locator("#detail-title")).to_contain_text("Personal:")
    page.check("#reset-password")
    page.click("#make-code")
    code = page.locator("#code").text_content()
    expect(page.locator("#audit-trail tbody tr").first).to_contain_text("lösenord återställt")
    assert code not in page.locator("#audit").inner_text()
    assert axe_violations(page) == []
    status, _ = live_server.request("/api/auth/token", {"username": "worker5", "password": "demo",
                                                        "device_id": "e2e-worker5-a"})
    assert status == 401  # the old password was reset
    assert live_server.login("worker5", "e2e-worker5-b", password=code)["user"]["username"] == "worker5"
    status, _ = live_server.request("/api/auth/token", {"username": "worker5", "password": code,
                                                        "device_id": "e2e-worker5-c"})
    assert status == 401  # once
