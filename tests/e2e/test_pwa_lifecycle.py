"""The app around the records: the age of the offline copy, auto-lock, a new version, Background Sync."""
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

PIN = "2580"
PWA = Path(__file__).resolve().parents[2] / "pwa"

SET_COPY_AGE = """(iso) => new Promise((res) => { const r = indexedDB.open('hemvard'); r.onsuccess = () => {
  const tx = r.result.transaction('meta', 'readwrite'); const store = tx.objectStore('meta');
  const q = store.get('sync'); q.onsuccess = () => store.put({...(q.result || {}), copy_as_of: iso}, 'sync');
  tx.oncomplete = () => { r.result.close(); res(true); }; }; })"""


def ago(**delta):
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


def test_the_age_of_the_offline_copy_warns_after_an_hour_and_alarms_after_twelve(pwa, context, shots):
    page = pwa.page
    pwa.enrol("worker1", PIN)
    assert "alldeles ny" in pwa.status_details()
    context.set_offline(True)  # no fresh pull: the copy keeps the age we give it
    for age, css, words in ((dict(hours=3), "age-warn", "3 h gammal – uppdatera när du har nät"),
                            (dict(hours=13), "age-alert", "13 h gammal – mycket gammal")):
        page.evaluate(SET_COPY_AGE, ago(**age))
        page.reload()
        pwa.unlock(PIN)
        page.wait_for_selector(f"#copy-age.{css}")  # the status line shows the level at a glance…
        assert words in pwa.status_details()  # …and a tap tells the whole of it
        assert "Offline" in page.inner_text("#net-state")
    shots(page, "copy-age-alert", full_page=False)


def test_the_app_locks_itself_after_inactivity(pwa, live_server):
    page = pwa.page
    page.clock.install()
    pwa.enrol("worker2", PIN)
    page.clock.fast_forward("04:00")
    assert page.locator("#pin").count() == 0  # four minutes: still open (setting: five)
    page.clock.fast_forward("02:00")
    page.wait_for_selector("#pin")
    assert page.locator(".visit-link").count() == 0
    pwa.unlock(PIN)
    page.wait_for_selector(".visit-link")


def test_background_sync_delivers_the_outbox_with_no_page_open(pwa, live_server, context):
    page = pwa.page
    pwa.enrol("worker4", PIN)
    context.route("**/api/sync/push", lambda route: route.abort("internetdisconnected"))
    visit = pwa.visit_ids()[0]
    pwa.go(f"#/visit/{visit}")
    page.click("#start-visit")
    (entry,) = pwa.wait_pending(1)
    page.goto(live_server.url + "/healthz")  # the app is closed; only its service worker is left
    context.unroute("**/api/sync/push")

    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(500)
    (registration,) = [r for r in registrations if r["scopeURL"] == live_server.url + "/" and not r["isDeleted"]]
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": live_server.url, "registrationId": registration["registrationId"],
                                                 "tag": "outbox", "lastChance": False})
    for _ in range(50):
        if live_server.query("SELECT count(*) AS n FROM events WHERE id = :id", id=entry["id"])[0]["n"]:
            break
        page.wait_for_timeout(200)
    assert live_server.query("SELECT count(*) AS n FROM events WHERE id = :id", id=entry["id"])[0]["n"] == 1
    assert pwa.pending() == []


def test_logging_out_erases_the_readable_copy_but_keeps_unsynced_records(pwa, live_server, context):
    page = pwa.page
    pwa.enrol("worker5", PIN)
    context.set_offline(True)
    visit = pwa.visit_ids()[0]
    pwa.go(f"#/visit/{visit}")
    page.click("#start-visit")
    (entry,) = pwa.wait_pending(1)
    pwa.go("#/sync")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#logout")
    page.wait_for_selector("#username")
    assert "1 osynkad post väntar" in page.inner_text("main")
    dump = pwa.dump_indexeddb()["hemvard"]
    assert dump["vault"]["values"] == [] and dump["journal"]["values"] == []
    assert [e["id"] for e in dump["outbox"]["values"]] == [entry["id"]]

    # A colleague takes over the phone: the first worker's record still goes out, under the first worker's name.
    context.set_offline(False)
    pwa.login("worker6").set_pin("1357")
    page.wait_for_selector(".visit-link")
    pwa.wait_pending(0)
    (row,) = live_server.query("SELECT u.username FROM events e JOIN users u ON u.id = e.user_id WHERE e.id = :id",
                               id=entry["id"])
    assert row["username"] == "worker5"


def test_a_new_version_is_offered_and_reloads_the_page_once(pwa, live_server_factory, tmp_path):
    copy = tmp_path / "pwa"
    shutil.copytree(PWA, copy)
    pwa.server = live_server_factory(pwa_dir=copy)
    page = pwa.page
    pwa.enrol("worker3", PIN)
    sw = copy / "sw.js"
    sw.write_text(sw.read_text().replace("const VERSION = '", "const VERSION = 'next-"))  # a deploy

    loads = []
    page.on("load", lambda _: loads.append(1))
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    page.wait_for_selector("#update-now")
    assert "En ny version finns" in page.inner_text("#update")
    with page.expect_navigation():
        page.click("#update-now")
    page.wait_for_selector("#pin")  # reloaded: the data key was only in memory
    page.wait_for_timeout(1000)
    assert len(loads) == 1
    names = [n for n in page.evaluate("caches.keys()") if n.startswith("app-static-")]
    assert names == [n for n in names if n.startswith("app-static-next-")] and len(names) == 1
    pwa.unlock(PIN)
    page.wait_for_selector(".visit-link")
