"""The worker's app with gloves on and in a hurry (issue 31, items 1–9), at 360 × 740 in real Chromium, found by
accessible names and Swedish texts as a worker reads them."""
import re
from datetime import datetime, time as dtime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

PIN = "2580"
VIEWPORT_HEIGHT = 740
STOCKHOLM = ZoneInfo("Europe/Stockholm")
CLOCK = re.compile(r"\d\d:\d\d")

JOURNAL_COUNT = """() => new Promise((res, rej) => { const r = indexedDB.open('hemvard'); r.onerror = () => rej(r.error);
  r.onsuccess = () => { const q = r.result.transaction('journal').objectStore('journal').count();
    q.onsuccess = () => { r.result.close(); res(q.result); }; }; })"""


def recorded(page):
    """How many records the worker has made on this phone (sent or not)."""
    return page.evaluate(JOURNAL_COUNT)


def expect_recorded(page, n):
    """Wait (polling, up to 10 s) until the phone holds `n` records of the worker's; the journal is written
    just after the tap, so a read right after the click may come too early."""
    for _ in range(100):
        if recorded(page) == n:
            return
        page.wait_for_timeout(100)
    assert recorded(page) == n


def on_screen(locator):
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT_HEIGHT


def open_visit(pwa, visit_id):
    pwa.go(f"#/visit/{visit_id}")
    pwa.page.wait_for_selector("section.visit")


def test_one_status_line_that_opens_one_row_of_menu_and_the_visit_button_on_screen(pwa, live_server):
    page = pwa.page
    pwa.enrol("worker1", PIN)
    assert page.locator("header.topbar").bounding_box()["height"] <= 56  # one line, not a third of the screen
    links = page.get_by_role("navigation", name="Meny").get_by_role("link").all()
    assert [l.inner_text().replace("\u00ad", "") for l in links] == ["Idag", "Efterregistrera", "Synk", "Utskrift", "Notiser"]
    assert len({round(l.bounding_box()["y"]) for l in links}) == 1  # one row

    status = page.get_by_role("button", name=re.compile("Online.*data.*Allt synkat"))
    expect(status).to_have_attribute("aria-expanded", "false")
    status.click()
    expect(status).to_have_attribute("aria-expanded", "true")
    (worker,) = live_server.query("SELECT display_name FROM users WHERE username = 'worker1'")
    expect(page.locator("#status-panel")).to_contain_text(f"Inloggad som {worker['display_name']}")
    expect(page.locator("#status-panel")).to_contain_text("Servern svarar")
    page.keyboard.press("Enter")  # the keyboard stays on the status line when it redraws: Enter closes it again
    expect(page.locator("#status-panel")).to_be_hidden()

    open_visit(pwa, pwa.visit_ids()[0])
    assert on_screen(page.get_by_role("button", name="Starta besök"))
    page.get_by_role("button", name="Starta besök").click()
    assert on_screen(page.get_by_role("button", name="Avsluta besök"))


def test_a_tap_is_confirmed_on_the_button_and_a_second_tap_asks_instead_of_recording_again(pwa, context):
    page = pwa.page
    pwa.enrol("worker2", PIN)
    visit = pwa.visit_ids()[1]
    open_visit(pwa, visit)
    before = recorded(page)
    page.get_by_role("button", name="Starta besök").click()
    expect(page.locator("#visit-actions")).to_contain_text(re.compile(r"Startat \d\d:\d\d"))
    expect(page.get_by_role("button", name="Starta besök")).to_have_count(0)
    assert page.locator(".toast").count() == 0  # nothing floats over the buttons
    expect(page.locator("#announce")).to_have_text("Sparat")  # online: no "skickas när nätet finns"

    done = page.locator(".intervention").first.get_by_role("button", name=re.compile("Utförd"))
    expect(done).to_have_attribute("aria-pressed", "false")
    done.click()
    expect(done).to_have_attribute("aria-pressed", "true")
    expect(done).to_have_text(re.compile(r"✓ Utförd \d\d:\d\d"))
    expect_recorded(page, before + 2)

    done.click()  # a second tap: the question, not a second record
    question = page.get_by_role("alert").filter(has_text="Redan registrerad som utförd")
    expect(question).to_be_visible()
    expect(question).to_contain_text("Den registreras inte en gång till")
    assert recorded(page) == before + 2
    question.get_by_role("button", name="Behåll").click()
    expect(question).to_be_hidden()
    assert recorded(page) == before + 2

    context.set_offline(True)  # without a network the confirmation says where the record is
    page.locator(".intervention").first.get_by_role("button", name="Utförd").click()
    page.get_by_role("button", name="Ändra till ej utförd").click()
    page.get_by_role("button", name="Spara ej utförd").click()
    expect(page.locator("#announce")).to_have_text("Sparat i telefonen – skickas när nätet finns")
    expect(page.locator(".intervention").first).to_contain_text("Ej utförd – Brukaren avböjde")
    expect_recorded(page, before + 3)


def test_ending_a_visit_lists_the_unrecorded_interventions_first(pwa, live_server):
    page = pwa.page
    pwa.enrol("worker3", PIN)
    visit = pwa.visit_ids()[2]
    open_visit(pwa, visit)
    titles = page.locator(".intervention strong").all_inner_texts()
    page.get_by_role("button", name="Starta besök").click()
    expect(page.locator("#visit-actions")).to_contain_text("Startat")
    before = recorded(page)
    page.get_by_role("button", name="Avsluta besök").click()
    question = page.get_by_role("alert").filter(has_text="De här insatserna är inte registrerade")
    expect(question).to_be_visible()
    assert question.get_by_role("listitem").all_inner_texts() == titles
    assert recorded(page) == before  # asking records nothing
    question.get_by_role("button", name="Tillbaka till insatserna").click()
    expect(question).to_be_hidden()

    for n in range(len(titles) - 1):  # all but the last
        page.locator(".intervention").nth(n).get_by_role("button", name="Utförd").click()
        expect(page.locator(".intervention [aria-pressed=true]")).to_have_count(n + 1)
    page.get_by_role("button", name="Avsluta besök").click()
    assert question.get_by_role("listitem").all_inner_texts() == titles[-1:]
    question.get_by_role("button", name="Avsluta ändå").click()
    expect(page.locator("#visit-actions")).to_contain_text(re.compile(r"Avslutat \d\d:\d\d"))
    expect_recorded(page, before + len(titles))


def test_the_deviation_form_starts_closed_and_no_kind_is_chosen_for_the_worker(pwa):
    page = pwa.page
    pwa.enrol("worker4", PIN)
    open_visit(pwa, pwa.visit_ids()[0])
    form = page.locator("#deviation")
    assert form.get_attribute("open") is None
    expect(page.get_by_label("Typ av avvikelse")).to_be_hidden()
    page.get_by_text("Rapportera avvikelse …").click()
    kind = page.get_by_label("Typ av avvikelse")
    expect(kind).to_have_value("")
    assert kind.locator("option:checked").inner_text() == "Välj typ …"
    before = recorded(page)
    page.get_by_label("Beskrivning").fill("Brukaren snubblade på mattan men föll inte.")
    page.get_by_role("button", name="Rapportera avvikelse").click()
    assert recorded(page) == before  # no kind, no report: the browser or the form says so
    kind.select_option(label="Fall")
    page.get_by_role("button", name="Rapportera avvikelse").click()
    expect_recorded(page, before + 1)
    expect(page.locator("main")).to_contain_text(re.compile(r"✓ Sparat \d\d:\d\d"))  # where the form was
    assert page.locator("#deviation").get_attribute("open") is None  # closed again, no kind chosen
    page.get_by_text("Rapportera avvikelse …").click()
    expect(page.get_by_label("Typ av avvikelse")).to_have_value("")


def test_today_tells_past_current_and_next_apart_and_opens_at_the_current_visit(pwa, context, shots):
    page = pwa.page
    page.emulate_media(reduced_motion="reduce", color_scheme="light")
    # The demo shift is 07:30–15:30 every hour; the phone's clock says 09:50 today, whenever the test runs.
    page.clock.install(time=datetime.combine(datetime.now(STOCKHOLM).date(), dtime(9, 50), STOCKHOLM))
    pwa.enrol("worker5", PIN)
    page.wait_for_selector(".visit-item.current")
    if page.is_visible("#update"):  # the one-time note on storage, put away
        page.locator("#update").get_by_role("button", name="OK").click()
    today = page.locator("ul.visits").first.locator(".visit-item")  # today's list; tomorrow's follows
    by_time = {item.locator(".visit-time").inner_text()[:5]: item for item in today.all()}
    expect(by_time["07:30"]).to_contain_text("Registrering saknas")
    expect(by_time["08:30"]).to_contain_text("Registrering saknas")
    expect(by_time["09:30"]).to_contain_text("Pågår nu")
    expect(by_time["10:30"]).to_contain_text("Nästa")
    assert on_screen(by_time["09:30"])  # Today opened at the current visit, not at 07:30
    assert not on_screen(by_time["07:30"])
    shots(page, "today-at-0950", full_page=False)

    first_visit = int(by_time["08:30"].locator("a").get_attribute("href").rsplit("/", 1)[1])
    pwa.record_visit(first_visit)
    pwa.go("#/today")
    item = page.locator(f"a[href='#/visit/{first_visit}']")
    expect(item).to_contain_text("Klart")
    expect(item).not_to_contain_text("Registrering saknas")
    days = page.locator("h2.day").all_inner_texts()
    assert days and all(re.fullmatch(r"[a-zåäö]+dag \d{1,2} [a-zåäö]+", d) for d in days), days


def test_the_medication_list_is_readable_at_360_px(pwa):
    page = pwa.page
    pwa.enrol("worker6", PIN)
    meds = page.locator(".med")
    for visit in pwa.visit_ids():  # half the demo's clients have a medication list; which visit comes first
        open_visit(pwa, visit)     # depends on the time of day
        page.get_by_role("link", name="Visa brukarens uppgifter").click()
        page.get_by_role("tab", name="Läkemedelslista").click()
        page.wait_for_timeout(200)
        if meds.count():
            break
    expect(meds.first).to_be_visible()
    expect(meds.first).to_contain_text("Anmärkning")
    expect(meds.first).to_contain_text("Dosett, signeras på listan")
    cut = page.evaluate("""() => [...document.querySelectorAll('#client-section *')]
        .filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
        .map((el) => el.outerHTML.slice(0, 80))""")
    assert cut == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


COUNT_PERSIST = """(() => { const real = navigator.storage.persist.bind(navigator.storage);
  navigator.storage.persist = () => { localStorage.setItem('persist-asked', String(Number(localStorage.getItem('persist-asked') || 0) + 1)); return real(); };
})()"""


def test_words_and_states_tell_the_truth(pwa, context, live_server):
    page = pwa.page
    page.add_init_script(COUNT_PERSIST)
    pwa.open().wait_for_service_worker()
    expect(page.get_by_text("Lagringen är inte beständig")).to_have_count(0)  # not on the login screen
    pwa.login("worker7").set_pin(PIN)
    page.wait_for_selector(".visit-link", timeout=60000)
    page.reload()
    pwa.unlock(PIN)
    page.wait_for_selector(".visit-link")
    assert page.evaluate("localStorage.getItem('persist-asked')") == "1"  # asked once, not on every start

    # Opening a client's record is logged, and that is not the worker's work: counted and listed apart.
    context.set_offline(True)
    open_visit(pwa, pwa.visit_ids()[0])
    page.get_by_role("link", name="Visa brukarens uppgifter").click()
    client = page.locator("main h1").inner_text()
    for tab in ("Personkort", "Genomförandeplan", "Läkemedelslista"):
        page.get_by_role("tab", name=tab).click()
    expect(page.locator("#pending-count")).to_have_text("Allt synkat")
    pwa.go("#/sync")
    expect(page.locator("#sync-pending-access")).to_have_text("4 loggade journalöppningar väntar också.")
    access = page.locator("#sync-access li")
    expect(access).to_have_count(1)
    expect(access).to_contain_text(f"Journal öppnad · {client} · översikt, personkort, genomförandeplan, läkemedelslista")
    expect(page.locator("#sync-records")).to_have_count(0)
    expect(page.locator("#sync-retry")).not_to_contain_text("misslyckade")
    expect(page.locator("#sync-retry")).to_contain_text("Posterna ligger kvar i telefonen")

    # After "Synka nu" the data age is the new copy's, at once.
    page.evaluate("""() => new Promise((res) => { const r = indexedDB.open('hemvard'); r.onsuccess = () => {
      const tx = r.result.transaction('meta', 'readwrite'); const store = tx.objectStore('meta');
      const q = store.get('sync'); q.onsuccess = () => store.put({...q.result, copy_as_of: new Date(Date.now() - 3 * 3600e3).toISOString()}, 'sync');
      tx.oncomplete = () => { r.result.close(); res(true); }; }; })""")
    page.reload()
    pwa.unlock(PIN)
    expect(page.locator("#copy-age")).to_have_text("data 3 h gammal")
    context.set_offline(False)
    pwa.go("#/sync")
    page.get_by_role("button", name="Synka nu").click()
    expect(page.locator("#copy-age")).to_have_text(re.compile(r"^data \d\d:\d\d$"))
    expect(page.locator("#copy-age")).to_have_class(re.compile("age-fresh"))
    expect(page.locator("#sync-access li")).to_contain_text("Skickad")


def test_a_manager_is_sent_to_the_admin_pages_with_the_address(pwa):
    page = pwa.page
    pwa.open().login("manager1")
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Chefer och administratörer använder webbsidan")
    link = refusal.get_by_role("link", name="Gå till administrationen (/admin/)")
    expect(link).to_have_attribute("href", "/admin/")
