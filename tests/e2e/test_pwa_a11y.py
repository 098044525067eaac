"""Every screen of the worker app passes axe-core's WCAG 2.1 A/AA rules at 360 px, and gets a screenshot
(tests/e2e/screenshots/, gitignored) for a human to look at."""

from playwright.sync_api import Error as PlaywrightError
from tests.support.axe import axe_violations

PIN = "2580"

def check(page, shots, name, ready):
    page.wait_for_selector(ready)
    page.wait_for_timeout(300)  # let the toast and status bar settle before judging contrast
    shots(page, f"a11y-{name}", full_page=False)
    return {name: violations} if (violations := axe_violations(page)) else {}


def test_every_screen_passes_axe_wcag21_aa_at_360px(pwa, context, shots):
    page = pwa.page
    found = {}
    pwa.open().wait_for_service_worker()
    found |= check(page, shots, "login", "#username")
    pwa.login("worker5")
    found |= check(page, shots, "set-pin", "#pin2")
    pwa.set_pin(PIN)
    found |= check(page, shots, "today", ".visit-link")
    visit = pwa.visit_ids()[0]
    pwa.go(f"#/visit/{visit}")
    found |= check(page, shots, "visit", "#start-visit")
    page.click("#start-visit")
    page.click("details.adjust >> nth=1")
    found |= check(page, shots, "visit-started", ".done-time")
    page.click("text=Visa brukarens uppgifter")
    found |= check(page, shots, "client-overview", "#tab-overview[aria-selected=true]")
    for tab in ("person_card", "care_plan", "medication_list"):
        page.click(f"#tab-{tab}")
        found |= check(page, shots, f"client-{tab}", f"#tab-{tab}[aria-selected=true]")
    for route, ready in (("#/sync", "#sync-now"), ("#/print", "#print-now"), ("#/postreg", "main h1"),
                         ("#/push", "main h1")):
        pwa.go(route)
        found |= check(page, shots, route.strip("#/"), ready)
    page.click("#tools button[lang=en]")
    pwa.go("#/today")
    found |= check(page, shots, "today-en", "text=Today's visits")
    page.click("#tools button[lang=sv]")
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
