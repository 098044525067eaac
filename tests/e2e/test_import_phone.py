"""A visit the planning system moved or cancelled after the phone pulled it: after the next sync the phone shows
it as "Ändrad" / "Inställd" — also offline, after a reload (real Chromium, real server, `flask import`)."""
from datetime import datetime, time
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

PIN = "2580"
TZ = ZoneInfo("Europe/Stockholm")


def at(hour, minute=0):
    """Today in Stockholm, after the demo's day shift (07:30–15:30): no double booking with it."""
    return datetime.combine(datetime.now(TZ).date(), time(hour, minute)).strftime("%Y-%m-%d %H:%M")


def write_set(folder, v1=(20, 0, 20, 30), v2=(22, 0, 22, 30), cancel_v1="nej"):
    folder.mkdir(exist_ok=True)
    (folder / "staff.csv").write_text("external_id;unit;username;name;role\nworker1;NORR;worker1;Wera Ett;worker\n")
    (folder / "clients.csv").write_text("external_id;unit;personal_number;name;address;key_ref\n"
                                        "B-1;NORR;18500314-1230;Fiktiv Importerad;Norrgatan 1;N-99\n")
    (folder / "visits.csv").write_text(
        "external_id;client;start;end;staff;cancelled\n"
        f"V-1;B-1;{at(*v1[:2])};{at(*v1[2:])};worker1;{cancel_v1}\n"
        f"V-2;B-1;{at(*v2[:2])};{at(*v2[2:])};worker1;nej\n")
    return folder


def card(page, visit_id):
    return page.locator(f".visit-link[href='#/visit/{visit_id}'] .badges")


def test_a_moved_and_a_cancelled_visit_show_on_the_phone_after_the_next_sync_also_offline(pwa, live_server, context,
                                                                                      tmp_path):
    live_server.flask("import", str(write_set(tmp_path / "set")))
    ids = {r["external_id"]: r["id"] for r in live_server.query(
        "SELECT id, external_id FROM visits WHERE external_id IN ('V-1', 'V-2')")}
    pwa.enrol("worker1", PIN)
    page = pwa.page
    assert {ids["V-1"], ids["V-2"]} <= set(pwa.visit_ids())
    assert card(page, ids["V-1"]).inner_text().strip() and "Inställd" not in card(page, ids["V-1"]).inner_text()

    # The planning system cancels V-1 and moves V-2 while the phone keeps its copy.
    live_server.flask("import", str(write_set(tmp_path / "set", v2=(21, 0, 21, 45), cancel_v1="ja")))
    pwa.go("#/sync")
    page.click("#sync-now")
    pwa.go("#/today")
    expect(card(page, ids["V-1"])).to_contain_text("Inställd")
    expect(card(page, ids["V-2"])).to_contain_text("Ändrad")

    context.set_offline(True)
    page.reload()
    pwa.unlock(PIN)
    page.wait_for_selector(".visit-link")
    expect(card(page, ids["V-1"])).to_contain_text("Inställd")
    expect(card(page, ids["V-2"])).to_contain_text("Ändrad")
    moved = page.locator(f".visit-link[href='#/visit/{ids['V-2']}'] .visit-time").inner_text()
    assert moved.replace("\u2009", "").startswith("21:00")
