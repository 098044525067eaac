"""Every screen and state of the worker app passes axe-core's WCAG 2.1 A/AA rules at 360 × 740, every control is
a touch target of at least 44 × 44 px, and each gets a screenshot (tests/e2e/screenshots/, gitignored; the ones
under docs/screens/ are copies of these) taken light and with prefers-reduced-motion, for a human to look at."""

from playwright.sync_api import Error as PlaywrightError
from tests.support.axe import axe_violations

PIN = "2580"
MIN_TARGET_PX = 44

# Controls a finger must hit. Links inside running text (a phone number in a sentence) are exempt (WCAG 2.5.5).
SMALL_TARGETS = """(min) => [...document.querySelectorAll(
    'button, summary, select, input, textarea, nav a, a.button-link, a.tool, a.visit-link, [role=tab]')]
  .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .map((el) => { const r = el.getBoundingClientRect();
    return { control: el.id || el.textContent.trim().slice(0, 40), width: Math.round(r.width), height: Math.round(r.height) }; })
  .filter((b) => b.width < min || b.height < min)"""


def check(page, shots, name, ready):
    page.wait_for_selector(ready)
    page.emulate_media(reduced_motion="reduce", color_scheme="light")
    shots(page, f"a11y-{name}", full_page=False)
    found = {}
    if violations := axe_violations(page):
        found[name] = violations
    if small := page.evaluate(SMALL_TARGETS, MIN_TARGET_PX):
        found[f"{name}: targets under {MIN_TARGET_PX} px"] = small
    return found


def test_every_screen_passes_axe_wcag21_aa_with_44_px_targets_at_360px(pwa, context, shots):
    page = pwa.page
    found = {}
    pwa.open().wait_for_service_worker()
    found |= check(page, shots, "login", "#username")
    pwa.login("worker5")
    found |= check(page, shots, "set-pin", "#pin2")
    pwa.set_pin(PIN)
    page.wait_for_selector(".visit-link")
    if page.is_visible("#update"):  # the one-time note on storage: read, then put away
        found |= check(page, shots, "storage-note", "#update")
        page.locator("#update").get_by_role("button", name="OK").click()
    found |= check(page, shots, "today", ".visit-link")
    page.click("#status-toggle")
    found |= check(page, shots, "status-open", "#status-panel #who")
    page.click("#status-toggle")
    visit = pwa.visit_ids()[3]
    pwa.go(f"#/visit/{visit}")
    found |= check(page, shots, "visit", "#start-visit")
    page.click("#start-visit")
    page.click(".intervention button.ok >> nth=0")
    page.wait_for_selector(".intervention [aria-pressed=true]")
    found |= check(page, shots, "visit-started", "#end-visit")
    page.click(".intervention [aria-pressed=true]")
    found |= check(page, shots, "visit-second-tap", ".intervention .ask:not([hidden])")
    page.click(".intervention .ask button >> nth=0")
    page.click("#deviation summary")
    page.click("details.adjust >> nth=0")
    found |= check(page, shots, "visit-forms-open", "#deviation-category")
    page.click("#deviation summary")
    page.click("details.adjust >> nth=0")
    page.evaluate("window.scrollTo(0, 0)")
    page.click("#end-visit")
    if page.is_visible("#end-confirm"):
        found |= check(page, shots, "visit-end-question", "#end-anyway")
        page.click("#end-anyway")
    page.wait_for_selector(".done-time >> nth=1")
    page.evaluate("window.scrollTo(0, 0)")
    found |= check(page, shots, "visit-ended", ".done-time >> nth=1")
    page.click("text=Visa brukarens uppgifter")
    found |= check(page, shots, "client-overview", "#tab-overview[aria-selected=true]")
    for tab in ("person_card", "care_plan", "medication_list"):
        page.click(f"#tab-{tab}")
        found |= check(page, shots, f"client-{tab}", f"#tab-{tab}[aria-selected=true]")
    for route, ready in (("#/sync", "#sync-now"), ("#/print", "#print-now"), ("#/postreg", "main h1"),
                         ("#/push", "main h1")):
        pwa.go(route)
        page.evaluate("window.scrollTo(0, 0)")
        found |= check(page, shots, route.strip("#/"), ready)
    pwa.set_language("en")
    pwa.go("#/today")
    found |= check(page, shots, "today-en", "text=Today's visits")
    pwa.set_language("sv")
    page.click("#lock")
    found |= check(page, shots, "unlock", "#pin")
    page.emulate_media(media="print")
    pwa.unlock(PIN)
    pwa.go("#/print")
    page.wait_for_selector("#print-now", state="attached")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    shots(page, "print-paper-first-page", full_page=False)
    for attempt in range(3):  # a pull that lands now redraws the print view: take the new one
        try:
            shots(page.locator(".form-sheet").first, "print-paper-registration-form")
            break
        except PlaywrightError:
            if attempt == 2:
                raise
    assert found == {}


def test_the_refusal_for_a_manager_passes_axe_too(pwa, shots):
    page = pwa.page
    pwa.open().login("manager1")
    assert check(page, shots, "login-manager", "#admin-link") == {}
