"""After one cold load the whole app works offline: every screen opens, also after an offline reload, although
most screens are import()ed lazily (pwa/js/app.js) — the service worker must have cached every module."""
from tests.support.waits import wait_js

PIN = "2580"
FAILED = "Skärmen kunde inte laddas"


def screens(visit_id, client_id):
    """Route → a selector that only that screen draws."""
    return [("#/today", ".visit-link"), (f"#/visit/{visit_id}", "#start-visit"),
            (f"#/client/{client_id}", "#client-section"), ("#/sync", "#sync-now"), ("#/print", "#print-now"),
            ("#/postreg", "#postreg-empty, #postreg-open, #postreg-closed"), ("#/push", "#push-message")]


def open_every_screen(pwa, routes):
    for route, ready in routes:
        pwa.go(route)
        pwa.page.wait_for_selector(f"{ready}, main > p.card.error", state="attached")
        assert FAILED not in pwa.page.inner_text("main"), route


def test_after_a_cold_load_every_screen_opens_offline_also_after_a_reload(pwa, context):
    page = pwa.page
    pwa.open()  # no waiting for the service worker first: straight to work, as on a new phone
    pwa.login("worker2").set_pin(PIN)
    page.wait_for_selector(".visit-link", timeout=60000)
    wait_js(page, "Boolean(navigator.serviceWorker.controller)")  # it claims the page once installed
    visit_id = pwa.visit_ids()[0]
    pwa.go(f"#/visit/{visit_id}")
    href = page.get_attribute("a[href^='#/client/']", "href")
    routes = screens(visit_id, href.rsplit("/", 1)[1])
    pwa.set_language("en")  # English once, online: the service worker keeps it (sw.js ON_DEMAND)…
    pwa.set_language("sv")

    context.set_offline(True)
    open_every_screen(pwa, routes)

    served = []
    page.on("response", lambda r: served.append(r.url) if r.from_service_worker and "/js/views/" in r.url else None)
    pwa.go("#/today")
    page.reload()  # offline: index.html, the static modules and now every lazy one from the service worker
    pwa.unlock(PIN)
    page.wait_for_selector(".visit-link")
    open_every_screen(pwa, routes)
    assert any(u.endswith("/js/views/postreg.js") for u in served), served
    pwa.set_language("en")  # …so it is there offline, after a reload too
    pwa.go("#/today")
    page.wait_for_selector("text=Today's visits")
    pwa.set_language("sv")
