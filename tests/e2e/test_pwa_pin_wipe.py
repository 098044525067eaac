"""Too many wrong PINs wipe what can be read on the phone — but not what the worker recorded: the sealed
outbox survives, cannot be read, and still reaches the server after a new login."""
import json
from tests.support.waits import wait_js

PIN = "2580"


def test_wrong_pins_wipe_readable_data_and_the_records_still_arrive_after_a_new_login(pwa, live_server, context, shots):
    page = pwa.page
    pwa.enrol("worker6", PIN)
    note = "Grannen har extranyckel, ring före besöket."
    visit = pwa.visit_ids()[0]
    context.set_offline(True)
    pwa.go(f"#/visit/{visit}")
    page.click("#start-visit")
    page.wait_for_selector("#end-visit:not([disabled])")
    pwa.add_note(visit, note)
    recorded = pwa.wait_pending(2)

    page.click("#lock")
    for attempt in range(4):
        pwa.unlock("0000")
        page.wait_for_selector(f"text={4 - attempt} försök kvar")
    pwa.unlock("1111")  # the fifth wrong PIN
    page.wait_for_selector("#username")
    assert "Läsbara data har raderats" in page.inner_text("main")
    assert "2 osynkade poster väntar" in page.inner_text("main")
    shots(page, "pin-wiped", full_page=False)

    dump = pwa.dump_indexeddb()["hemvard"]
    assert dump["vault"]["values"] == [] and dump["journal"]["values"] == []
    assert "lock" not in dump["meta"]["keys"]
    assert sorted(e["id"] for e in dump["outbox"]["values"]) == sorted(e["id"] for e in recorded)
    text = json.dumps(dump, ensure_ascii=False)
    assert note not in text

    context.set_offline(False)
    pwa.login("worker6").set_pin("9753")
    page.wait_for_selector(".visit-link")
    pwa.wait_pending(0)
    stored = live_server.query("SELECT id, type, payload FROM events")
    by_id = {r["id"]: r for r in stored}
    assert all(e["id"] in by_id for e in recorded)
    notes = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
             for r in stored if r["type"] == "note_added"]
    assert [n["text"] for n in notes] == [note]
    assert pwa.pending() == []

    # The new copy says what the server already holds of the worker's records: the visit started before
    # the wipe shows as ongoing (end enabled), not as not started — nobody registers it twice.
    pwa.go("#/sync")
    page.click("#sync-now")
    wait_js(page, "() => { const b = document.querySelector('#sync-now'); return b && !b.disabled; }")
    pwa.go(f"#/visit/{visit}")
    page.wait_for_selector("#end-visit:not([disabled])")
