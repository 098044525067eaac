"""The administrator's Import page in real Chromium: upload → the diff → apply; errors listed by file, line and
column with nothing saved; an integration token made (shown once) and revoked; axe-clean."""
import pytest
from playwright.sync_api import expect
from tests.support.axe import axe_violations

DESKTOP = {"width": 1280, "height": 900}
STAFF = "external_id;unit;username;name;role\nP-9;NORR;p9.norr;Nils Nio;worker\n"
CLIENTS = ("external_id,unit,personal_number,name,address,key_ref\n"
           "B-9,NORR,18500314-1230,Fiktiv Nio,Gata 9,N-9\n")


def login(page, server, username="admin1"):
    page.goto(f"{server.url}/admin/login.html?next=import.html")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/import.html")
    page.wait_for_selector("body[data-loaded=true]")


def files(**named):
    return [{"name": name, "mimeType": "text/csv", "buffer": text.encode()} for name, text in named.items()]


@pytest.fixture
def admin_page(browser, live_server, page_problems):
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm")
    page = page_problems.watch(context.new_page())
    login(page, live_server)
    yield page
    context.close()
    assert not page_problems.items, page_problems.items


def test_upload_preview_then_apply_exactly_that(admin_page, live_server):
    page = admin_page
    assert page.locator(".admin-nav a[href='import.html']").text_content() == "Import"
    page.set_input_files("#files", files(**{"staff.csv": STAFF, "clients.csv": CLIENTS}))
    page.click("#preview")
    page.wait_for_selector("#status .message.ok")
    assert "inget är sparat än" in page.locator("#status").text_content()
    assert page.locator("tr[data-kind=clients] td[data-action=created]").text_content() == "1"
    assert "name: Fiktiv Nio" in page.locator("#result").text_content()
    assert live_server.query("SELECT count(*) AS n FROM clients WHERE external_id = 'B-9'")[0]["n"] == 0
    assert axe_violations(page) == []
    page.click("#apply")
    expect(page.locator("#status")).to_contain_text("Importen är sparad")
    assert live_server.query("SELECT count(*) AS n FROM clients WHERE external_id = 'B-9'")[0]["n"] == 1
    assert page.locator("#apply").is_disabled()
    expect(page.locator("#audit-trail")).to_contain_text("brukare B-9 – ny")  # the audit trail, at once
    assert "admin1" in page.locator("#audit-trail").inner_text()


def test_the_page_shows_the_imports_steps_as_the_server_streams_them(admin_page, live_server):
    page = admin_page
    page.evaluate("""() => { window.steps = [];
        new MutationObserver(() => document.querySelectorAll('#status [data-step]').forEach((s) => {
          if (window.steps.at(-1) !== s.textContent) window.steps.push(s.textContent); }))
          .observe(document.getElementById('status'), { childList: true, subtree: true }); }""")
    visits = "external_id;client;start;end;staff\nV-99;B-9;2026-12-08 21:00;2026-12-08 21:30;P-9\n"
    page.set_input_files("#files", files(**{"staff.csv": STAFF, "clients.csv": CLIENTS, "visits.csv": visits}))
    page.click("#preview")
    page.wait_for_selector("#status .message.ok")
    order = ["Filerna är lästa …", "Jämför med det som finns sparat …", "Kontrollerar dubbelbokningar …"]
    steps = page.evaluate("window.steps")  # lines that arrive together show only the last of them
    assert steps[-1] == order[-1] and steps == [s for s in order if s in steps], steps
    assert page.locator("tr[data-kind=visits] td[data-action=created]").text_content() == "1"
    page.evaluate("window.steps = []")
    page.click("#apply")
    expect(page.locator("#status")).to_contain_text("Importen är sparad")
    steps = page.evaluate("window.steps")
    assert steps[-1] == order[-1] and set(steps) <= {*order, "Sparar personal och brukare …"}, steps
    assert live_server.query("SELECT count(*) AS n FROM visits WHERE external_id = 'V-99'")[0]["n"] == 1


def test_errors_are_listed_by_file_line_and_column_and_nothing_is_saved(admin_page, live_server):
    page = admin_page
    bad = CLIENTS.replace("18500314-1230", "18500314-1231")
    page.set_input_files("#files", files(**{"clients.csv": bad}))
    page.click("#preview")
    page.wait_for_selector("#problems")
    row = page.locator("#problems tbody tr").first.locator("td").all_inner_texts()
    assert row == ["clients.csv", "2", "personal_number", "Fel kontrollsiffra: 1, ska vara 0."]
    assert "1 fel – inget har sparats" in page.locator("#status").text_content()
    assert page.locator("#apply").is_disabled()
    assert live_server.query("SELECT count(*) AS n FROM clients WHERE external_id = 'B-9'")[0]["n"] == 0
    assert axe_violations(page) == []


def test_an_integration_token_is_shown_once_and_can_be_revoked(admin_page, live_server):
    page = admin_page
    page.fill("#token-name", "TES")
    page.click("#token-form button[type=submit]")
    secret = page.locator("#secret").text_content()
    assert secret.startswith("hvi_")
    expect(page.locator("#tokens")).to_contain_text("aktiv")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#tokens button")
    expect(page.locator("#tokens")).to_contain_text("återkallad")
    status, body = live_server.request("/api/integration/import", {"dry_run": True}, token=secret)
    assert status == 401 and body["code"] == "token_revoked"


def test_a_record_for_a_cancelled_visit_is_shown_to_the_administrator(browser, live_server, page_problems, tmp_path):
    import uuid
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "staff.csv").write_text("external_id;unit;username;name;role\nworker1;NORR;worker1;Wera Ett;worker\n")
    (folder / "clients.csv").write_text(CLIENTS)
    day = datetime.now(ZoneInfo("Europe/Stockholm")).date()  # after the demo's day shift: no double booking
    visit = f"external_id;client;start;end;staff;cancelled\nV-1;B-9;{day} 21:00;{day} 21:30;worker1;{{}}\n"
    (folder / "visits.csv").write_text(visit.format("nej"))
    live_server.flask("import", str(folder))
    [row] = live_server.query("SELECT id FROM visits WHERE external_id = 'V-1'")
    phone = live_server.login("worker1", "e2e-phone-import")
    now = datetime.now(timezone.utc).isoformat()
    status, body = live_server.request("/api/sync/push", {
        "protocol": 1, "device_id": "e2e-phone-import",
        "status": {"pending": 1, "device_clock": now, "app_version": "e2e"},
        "events": [{"id": str(uuid.uuid4()), "type": "visit_started", "occurred_at": now, "device_seq": 1,
                    "payload": {"visit_id": row["id"]}}]}, token=phone["token"])
    assert status == 200 and body["results"][0]["status"] == "applied", body
    (folder / "visits.csv").write_text(visit.format("ja"))
    live_server.flask("import", str(folder))
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm")
    try:
        page = page_problems.watch(context.new_page())
        login(page, live_server)
        listed = page.locator("#cancelled-visits tbody tr")
        expect(listed).to_have_count(1)
        assert "V-1" in listed.inner_text() and "Fiktiv Nio" in listed.inner_text()
        assert "visit_started – Wera Ett" in listed.inner_text()
        assert axe_violations(page) == []
    finally:
        context.close()
    assert not page_problems.items, page_problems.items
