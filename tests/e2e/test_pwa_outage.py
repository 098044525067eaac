"""A whole shift through a real outage: the server process is killed, the app keeps working from the
service worker and IndexedDB, and everything recorded reaches the database exactly once afterwards."""
import re
from pathlib import Path

from tests.support.idb import readable_text
from tests.support.waits import wait_js

PIN = "2580"
APP_VERSION = re.search(r"APP_VERSION = '([^']+)'",
                        (Path(__file__).parents[2] / "pwa" / "js" / "config.js").read_text()).group(1)


def events_by_id(server, ids):
    rows = server.query("SELECT id, type, device_seq FROM events")
    return [r for r in rows if r["id"] in ids]


def test_visits_recorded_while_the_server_is_down_arrive_exactly_once(pwa, live_server, context, page_problems, shots):
    page = pwa.page
    pwa.enrol("worker1", PIN)
    visits = pwa.visit_ids()[:3]

    live_server.stop()
    page.reload()  # the server is gone: the shell comes from the service worker
    page.wait_for_selector("#pin")
    pwa.unlock(PIN)
    page.wait_for_selector(".visit-link")

    expected = sum(pwa.record_visit(v) for v in visits)
    pwa.add_note(visits[0], "Hade svårt att sova, vill prata med sjuksköterskan.")
    pwa.report_deviation(visits[1], "fall", "Hittades på golvet i hallen, inga synliga skador.")
    expected += 2
    pwa.wait_pending(expected)
    assert f"{expected} osynkade" in pwa.status_text()
    assert "Servern nås inte" in pwa.status_text()
    shots(page, "outage-today-unsynced", full_page=False)

    # Close the app and open it again: the records are still on the phone.
    page.close()
    again = page_problems.watch(context.new_page())
    pwa.page = again
    again.goto(live_server.url + "/")
    again.wait_for_selector("#pin")
    pwa.unlock(PIN)
    again.wait_for_selector(".visit-link")
    pending = pwa.pending()
    assert len(pending) == expected and all(e["state"] == "pending" for e in pending)
    for v in visits:
        assert "Klart" in again.inner_text(f'a[href="#/visit/{v}"]')

    live_server.start()
    pwa.sync_now()
    pwa.wait_pending(0)

    ids = {e["id"] for e in pending}
    stored = events_by_id(live_server, ids)
    assert pwa.pending() == []  # nothing left behind, nothing rejected
    assert len(stored) == expected  # every record, and each once (the id column is unique)
    assert {r["id"] for r in stored} == ids
    types = sorted(r["type"] for r in stored)
    assert types.count("visit_started") == 3 and types.count("visit_ended") == 3
    assert types.count("note_added") == 1 and types.count("deviation_reported") == 1

    # The batch's status block counted what it carried; once applied, the phone reported its empty outbox.
    (device,) = live_server.query("SELECT d.status_pending, d.status_app_version, d.status_oldest_pending_at "
                                  "FROM devices d JOIN users u ON u.id = d.user_id WHERE u.username = 'worker1'")
    assert device["status_pending"] == 0 and device["status_app_version"] == APP_VERSION
    assert device["status_oldest_pending_at"] is None

    wait_js(again, "() => document.querySelector('#pending-count').textContent.includes('Allt synkat')")
    records = again.eval_on_selector_all("#sync-records li", "els => els.map(e => e.dataset.state)")
    assert records.count("sent") >= expected and "waiting" not in records
    shots(again, "outage-sync-done", full_page=False)


def test_indexeddb_holds_no_names_personal_numbers_or_note_text(pwa, live_server):
    page = pwa.page
    pwa.enrol("worker2", PIN)
    note = "Dottern Ingrid ringer på torsdag om nyckeln."
    visit = pwa.visit_ids()[0]
    pwa.add_note(visit, note)
    pwa.report_deviation(visit, "medication", "Dosetten för tisdag kväll var orörd.")
    pwa.go(f"#/visit/{visit}")
    page.click("text=Visa brukarens uppgifter")
    for tab in ("person_card", "care_plan", "medication_list"):
        page.click(f"#tab-{tab}")
    for _ in range(100):  # note, deviation, four record views: all in the journal before the dump
        if len(pwa.dump_indexeddb()["hemvard"]["journal"]["values"]) >= 6:
            break
        page.wait_for_timeout(100)
    pwa.wait_pending(0)

    shift = live_server.request("/api/sync/pull", token=live_server.login("worker2", "inspector-device")["token"])[1]
    secrets = {note, "Dottern Ingrid", "Dosetten för tisdag kväll var orörd."}
    for c in shift["clients"]:
        secrets |= {c["name"], c["personal_number"], c["personal_number"].replace("-", "")}
        secrets |= {part for part in c["name"].split() if len(part) > 3}
        for relative in (c.get("person_card") or {}).get("relatives", []):
            secrets.add(relative["name"])
        if c.get("address"):
            secrets.add(c["address"])
    raw = pwa.dump_indexeddb()
    assert raw["hemvard"]["vault"]["values"] and raw["hemvard"]["journal"]["values"]  # the dump did see the data
    text = readable_text(raw)
    leaks = sorted(s for s in secrets if s and s in text)
    assert leaks == []
