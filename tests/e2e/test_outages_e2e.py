"""Outages end to end in real Chromium against a real server process: a worker self-registers a missed visit
offline and it syncs; an administrator backfills for an absent worker; a manager decides a long outage."""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo
from tests.support.axe import axe_violations
from tests.support.waits import wait_js

STHLM = ZoneInfo("Europe/Stockholm")
PIN = "2580"
DESKTOP = {"width": 1280, "height": 900}


def local(day_offset, hour, minute=0):
    day = datetime.now(STHLM).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute), STHLM).astimezone(timezone.utc)


def declare(server, start, end, username="admin1"):
    token = server.login(username, f"e2e-{username}-api")["token"]
    status, body = server.request("/api/outages", {"kind": "unplanned", "started_at": start.isoformat(),
                                                   "ended_at": end.isoformat(), "reporter_name": "Fiktiv Anmälare",
                                                   "fault_type": "technical"}, token)
    assert status == 201, body
    status, gaps = server.request(f"/api/outages/{body['id']}/gaps", token=token)
    assert status == 200 and gaps["gaps"], gaps
    return body, gaps["gaps"]


def staff_page(browser, page_problems, server, username, path):
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm")
    context.set_default_timeout(20000)
    page = page_problems.watch(context.new_page())
    page.goto(f"{server.url}/admin/login.html?next={path}")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/admin/{path}")
    page.wait_for_selector("body[data-loaded=true]")
    return context, page



def test_after_an_outage_the_worker_self_registers_a_missed_visit_offline_hands_one_over_and_both_sync(pwa, live_server, context, shots):
    page = pwa.page
    outage, gaps = declare(live_server, local(-1, 7), local(-1, 12))
    worker1 = live_server.query("SELECT id FROM users WHERE username = 'worker1'")[0]["id"]
    mine = [g for g in gaps if g["worker"]["id"] == worker1]
    assert mine and all(g["route"] == "self" for g in mine)
    pwa.enrol("worker1", PIN)

    pwa.go("#/postreg")
    page.wait_for_selector("#postreg-open .gap")  # fetched online, now saved encrypted on the phone
    page.wait_for_selector("#postreg-age")
    assert "Du efterregistrerar" in page.inner_text("#postreg-open")
    assert "senast" in page.inner_text("#postreg-open").lower()

    context.set_offline(True)  # the 4G is gone again
    pwa.go("#/today")
    pwa.go("#/postreg")
    page.wait_for_selector("#postreg-open .gap")
    gap = mine[0]
    card = f"#gap-{gap['id']}"
    page.wait_for_selector(card)
    page.fill(f"#g{gap['id']}-start", "07:35")
    page.fill(f"#g{gap['id']}-end", "07:58")
    page.click(f"#g{gap['id']}-save")
    page.wait_for_selector(f"{card} .ok-text")
    assert "väntar på synk" in page.inner_text(card)
    other = mine[1]
    page.click(f"#g{other['id']}-handover")
    page.fill(f"#g{other['id']}-handover-reason", "Ledig i morgon")
    page.click(f"#g{other['id']}-handover-confirm")
    wait_js(page, "(id) => document.querySelector('#gap-' + id).textContent.includes('Lämnat till administratör')",
                           arg=other["id"])
    expected = 2 + len(gap["visit"]["interventions"]) + 1
    pwa.wait_pending(expected)
    shots(page, "postreg-offline", full_page=False)

    context.set_offline(False)
    pwa.sync_now()
    pwa.wait_pending(0)
    wait_js(page, "async () => (await new Promise((res) => { const r = indexedDB.open('hemvard'); "
                           "r.onsuccess = () => { const q = r.result.transaction('outbox').objectStore('outbox')"
                           ".count(); q.onsuccess = () => { r.result.close(); res(q.result); }; }; })) === 0")
    rows = live_server.query("SELECT type, payload FROM events WHERE visit_id = :v AND user_id = :w",
                             v=gap["visit"]["id"], w=worker1)
    assert sorted(r["type"] for r in rows).count("visit_started") == 1 and len(rows) == expected - 1
    handed = live_server.query("SELECT route, rule FROM outage_gaps WHERE id = :g", g=other["id"])[0]
    assert (handed["route"], handed["rule"]) == ("admin", "handed_over")
    state = live_server.query("SELECT state, rule FROM outage_gaps WHERE id = :g", g=gap["id"])[0]
    assert (state["state"], state["rule"]) == ("closed", "registered")
    started = live_server.query("SELECT started_at FROM registrations WHERE visit_id = :v AND worker_id = :w",
                                v=gap["visit"]["id"], w=worker1)[0]["started_at"]
    assert str(started).startswith(local(-1, 7, 35).strftime("%Y-%m-%d %H:%M"))


def test_an_administrator_backfills_for_an_absent_worker(browser, page_problems, live_server, shots):
    outage, gaps = declare(live_server, local(-1, 7), local(-1, 12))
    worker2 = live_server.query("SELECT id FROM users WHERE username = 'worker2'")[0]["id"]
    admin1 = live_server.query("SELECT id FROM users WHERE username = 'admin1'")[0]["id"]
    context, page = staff_page(browser, page_problems, live_server, "admin1", "outages.html")
    try:
        page.select_option("#absence-worker", str(worker2))
        page.fill("#absence-from", datetime.now(STHLM).date().isoformat())
        page.fill("#absence-to", (datetime.now(STHLM).date() + timedelta(days=1)).isoformat())
        page.fill("#absence-reason", "Sjuk")
        page.click("#absence-submit")
        page.wait_for_selector("#absence .message.ok")
        routed = live_server.query("SELECT id, route, rule, visit_id FROM outage_gaps WHERE worker_id = :w AND state = 'open'",
                                   w=worker2)
        assert routed and all((g["route"], g["rule"]) == ("admin", "worker_absent") for g in routed)
        assert axe_violations(page) == []

        page.goto(f"{live_server.url}/admin/backfill.html")
        page.wait_for_selector("body[data-loaded=true]")
        page.select_option("#filter-worker", str(worker2))
        page.wait_for_selector(f"#queue[data-worker='{worker2}']")
        target = routed[0]
        page.wait_for_selector(f"#queue-{target['id']}")
        page.click(f"#bf-{target['id']}-open")
        page.fill(f"#bf-{target['id']}-start", "07:40")
        page.fill(f"#bf-{target['id']}-end", "08:05")
        page.select_option(f"#bf-{target['id']}-source", "phone_call")
        page.fill(f"#bf-{target['id']}-note", "Ringde medarbetaren")
        page.click(f"#bf-{target['id']}-save")
        wait_js(page, "(id) => !document.querySelector('#queue-' + id)", arg=target["id"])
        shots(page, "backfill-queue", full_page=False)
        assert axe_violations(page) == []
    finally:
        context.close()
    events = live_server.query("SELECT source, user_id, recorded_by, payload FROM events WHERE visit_id = :v",
                               v=target["visit_id"])
    assert events and {(e["source"], e["user_id"], e["recorded_by"]) for e in events} == {("backfill", worker2, admin1)}
    gap = live_server.query("SELECT state FROM outage_gaps WHERE id = :g", g=target["id"])[0]
    assert gap["state"] == "closed"


def test_a_manager_decides_how_a_long_outage_is_post_registered(browser, page_problems, live_server, shots):
    outage, gaps = declare(live_server, local(-1, 6), local(-1, 18))
    assert all(g["route"] == "decision" for g in gaps)
    context, page = staff_page(browser, page_problems, live_server, "manager1", "outages.html")
    try:
        page.wait_for_selector(f"#decide-{outage['id']}")
        assert "längre än gränsen 10 h" in page.inner_text(f"#decide-{outage['id']}")
        page.select_option(f"#decide-{outage['id']}-route", "admin")
        page.fill(f"#decide-{outage['id']}-note", "Administratörerna för in allt från pappersblanketterna")
        page.click(f"#decide-{outage['id']}-submit")
        page.wait_for_selector("#decide-section", state="hidden")
        page.click(f"#outage-{outage['id']}-gaps")
        page.wait_for_selector("#gaps table")
        assert "pappersblanketterna" in page.inner_text("#gaps")
        shots(page, "manager-decision", full_page=False)
        assert axe_violations(page) == []
    finally:
        context.close()
    rows = live_server.query("SELECT DISTINCT route, rule FROM outage_gaps WHERE outage_id = :o AND state = 'open'",
                             o=outage["id"])
    assert [(r["route"], r["rule"]) for r in rows] == [("admin", "management_policy")]


def test_an_administrator_withdraws_an_outage_registered_by_mistake(browser, page_problems, live_server, shots):
    outage, gaps = declare(live_server, local(-1, 7), local(-1, 12))
    context, page = staff_page(browser, page_problems, live_server, "admin1", "outages.html")
    try:
        row = f"#outage-{outage['id']}"
        page.click(f"{row}-withdraw summary")
        page.fill(f"{row}-withdraw-reason", "Fel enhet – inget driftstopp hos oss")
        page.click(f"{row}-withdraw-submit")
        wait_js(page, "(sel) => document.querySelector(sel)?.classList.contains('withdrawn')", arg=row)
        assert "återkallat" in page.inner_text(row) and "Fel enhet" in page.inner_text(row)
        assert page.query_selector(f"{row}-withdraw") is None and page.query_selector(f"{row}-end") is None
        shots(page, "outage-withdrawn", full_page=False)
        assert axe_violations(page) == []
    finally:
        context.close()
    stored = live_server.query("SELECT status, withdrawn_reason FROM outages WHERE id = :o", o=outage["id"])[0]
    assert (stored["status"], stored["withdrawn_reason"]) == ("withdrawn", "Fel enhet – inget driftstopp hos oss")
    still_open = live_server.query("SELECT count(*) AS n FROM outage_gaps WHERE outage_id = :o AND state = 'open'",
                                   o=outage["id"])[0]["n"]
    assert still_open == 0 and len(gaps) > 0


def test_a_manager_sets_a_last_day_with_a_time_and_the_gaps_say_that_time(browser, page_problems, live_server):
    outage, gaps = declare(live_server, local(-1, 6), local(-1, 18))
    tomorrow = (datetime.now(STHLM).date() + timedelta(days=1)).isoformat()
    context, page = staff_page(browser, page_problems, live_server, "manager1", "outages.html")
    try:
        page.wait_for_selector(f"#decide-{outage['id']}")
        page.select_option(f"#decide-{outage['id']}-route", "self")
        page.fill(f"#decide-{outage['id']}-last-day", tomorrow)
        page.fill(f"#decide-{outage['id']}-last-time", "16:00")
        page.click(f"#decide-{outage['id']}-submit")
        page.wait_for_selector("#decide-section", state="hidden")
        page.click(f"#outage-{outage['id']}-gaps")
        page.wait_for_selector("#gaps table")
        assert "kl. 16:00" in page.inner_text("#gaps")
        assert axe_violations(page) == []
    finally:
        context.close()
    [deadline] = live_server.query("SELECT DISTINCT deadline FROM outage_gaps WHERE outage_id = :o AND state = 'open'",
                                   o=outage["id"])
    assert str(deadline["deadline"]).startswith(local(1, 16).strftime("%Y-%m-%d %H:%M"))
