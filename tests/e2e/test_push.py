"""Web Push in real Chromium: the consent screen (with a stubbed PushManager, since headless Chromium refuses
a real subscription), the iPhone message, and the service worker's push and notificationclick handlers driven
through CDP `ServiceWorker.deliverPushMessage`.
"""
import json
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from support.push_service import PushService
from tests.support.axe import axe_violations

ROOT_ENV = {"PUSH_ALLOW_HTTP": "1", "PUSH_ENDPOINT_HOSTS": "127.0.0.1"}

# PushManager.subscribe is refused in headless Chromium; this stand-in returns the subscription of a phone at
# our local push service, and remembers the applicationServerKey the app asked with.
STUB_PUSH_MANAGER = """
(() => {
  const info = %s;
  let current = null;
  const make = (key) => ({
    endpoint: info.endpoint,
    options: { applicationServerKey: key.buffer ? key.buffer : key, userVisibleOnly: true },
    toJSON: () => ({ endpoint: info.endpoint, expirationTime: null, keys: info.keys }),
    unsubscribe: async () => { current = null; return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    window.__pushOptions = { userVisibleOnly: options.userVisibleOnly,
      key: btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey))) };
    current = make(options.applicationServerKey);
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""

IPHONE_17 = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Mobile/15E148 Safari/604.1")


@pytest.fixture
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture
def push_server(live_server):
    """The live server, allowed to send to the local push service."""
    live_server.stop()
    live_server.env.update(ROOT_ENV)
    return live_server.start()



def run_in_app(server, code):
    """Python in the server's own environment (same database, same VAPID key in the instance folder)."""
    return subprocess.run([sys.executable, "-c", "from server import create_app\napp = create_app()\n"
                           "with app.app_context():\n" + "".join(f"    {line}\n" for line in code.splitlines())],
                          env=server.env, capture_output=True, text=True, timeout=120, check=True).stdout


def push_worker_once(server):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "server", "worker", "--once"],
                          env=server.env, capture_output=True, text=True, timeout=120, check=True).stdout


def test_the_worker_reads_what_is_sent_says_yes_and_receives_a_real_push(context, page, pwa, push_server,
                                                                           push_service, shots):
    phone = push_service.subscribe()
    context.grant_permissions(["notifications"], origin=push_server.url)
    context.add_init_script(STUB_PUSH_MANAGER % json.dumps(phone.info))
    pwa.enrol("worker1")
    page.click("#nav a[href='#/push']")
    page.wait_for_selector("#push-subscribe")
    assert page.inner_text("h1") == "Notiser"
    assert "Notiser är av" in page.inner_text("#push-state")
    privacy = page.inner_text("#push-privacy")
    assert "aldrig namn, personnummer eller anteckningar" in privacy
    assert "dagen före" in page.inner_text("#push-what")
    shots(page, "push-consent")
    assert axe_violations(page) == []

    page.click("#push-subscribe")
    page.wait_for_selector("#push-unsubscribe")
    assert "Notiser är på" in page.inner_text("#push-state")
    _, public_key = push_server.request("/api/push/public-key")
    options = page.evaluate("window.__pushOptions")
    assert options["userVisibleOnly"] is True
    sent_key = options["key"].replace("+", "-").replace("/", "_").rstrip("=")
    assert sent_key == public_key["public_key"]
    [row] = push_server.query("SELECT s.endpoint, u.username FROM push_subscriptions s "
                              "JOIN users u ON u.id = s.user_id")
    assert row == {"endpoint": phone.endpoint, "username": "worker1"}

    run_in_app(push_server, "from server.extensions import db\nfrom server.notify import enqueue, staff_of\n"
                            "enqueue('outage_ended', staff_of([1]))\ndb.session.commit()")
    push_worker_once(push_server)
    [message] = push_service.messages_for(phone)
    assert message["payload"]["title"] == "Systemet är tillbaka"
    assert message["payload"]["url"] == "/#/sync"

    page.click("#push-unsubscribe")
    page.wait_for_selector("#push-subscribe")
    assert push_server.query("SELECT endpoint FROM push_subscriptions") == []


def test_an_iphone_outside_the_home_screen_is_told_how_to_get_notifications(browser, live_server, page_problems):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="sv-SE", user_agent=IPHONE_17,
                                  timezone_id="Europe/Stockholm", service_workers="allow")
    try:
        page = page_problems.watch(context.new_page())
        driver = sys.modules[type(live_server).__module__].PwaDriver  # the e2e conftest's
        driver(page, live_server).enrol("worker2")
        page.goto(live_server.url + "/#/push")
        page.wait_for_selector("#push-unsupported")
        text = page.inner_text("#push-unsupported")
        assert "hemskärmen" in text and "iOS 16.4" in text
        assert page.is_disabled("#push-subscribe")
        assert axe_violations(page) == []
        verdicts = page.evaluate("""async () => {
          const push = await import('/js/push.js');
          const as = (ua, standalone) => {
            Object.defineProperty(navigator, 'userAgent', { value: ua, configurable: true });
            Object.defineProperty(navigator, 'standalone', { value: standalone, configurable: true });
            return push.support();
          };
          return {
            old: as('Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15', false),
            home: as('Mozilla/5.0 (iPhone; CPU iPhone OS 16_4 like Mac OS X) AppleWebKit/605.1.15', true),
          };
        }""")
        assert verdicts["old"] == "ios-too-old"
        assert verdicts["home"] != "ios-home-screen"
    finally:
        context.close()
    assert not page_problems.items, page_problems.items


def test_an_administrator_turns_notifications_on_in_the_admin_area(context, page, push_server, push_service):
    desk = push_service.subscribe()
    context.grant_permissions(["notifications"], origin=push_server.url)
    context.add_init_script(STUB_PUSH_MANAGER % json.dumps(desk.info))
    page.goto(push_server.url + "/admin/login.html?next=notifications.html")
    page.fill("#username", "admin1")
    page.fill("#password", "demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/admin/notifications.html")
    expect(page.locator("#push-what")).to_contain_text("lämnas över till er för efterregistrering")  # once its texts load
    assert axe_violations(page) == []
    # (The admin pages' CSP has no 'unsafe-eval', so no wait_for_function here.)
    page.wait_for_selector("#push-toggle:not([disabled])")
    expect(page.locator("#push-state")).to_have_text("Notiser är av i den här webbläsaren.")
    page.click("#push-toggle")
    expect(page.locator("#push-state")).to_have_text("Notiser är på i den här webbläsaren.")
    [row] = push_server.query("SELECT s.endpoint, u.username FROM push_subscriptions s "
                              "JOIN users u ON u.id = s.user_id")
    assert row == {"endpoint": desk.endpoint, "username": "admin1"}

    run_in_app(push_server, "from server.extensions import db\nfrom server.notify import admins_of, enqueue\n"
                            "enqueue('gap_escalated', admins_of(1), {'count': 3})\ndb.session.commit()")
    push_worker_once(push_server)
    [message] = push_service.messages_for(desk)
    assert message["payload"]["body"] == "3 besök ska nu efterregistreras av administratör."
    assert message["payload"]["url"] == "/admin/backfill.html"


def _registration_id(cdp):
    found = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda e: found.extend(r["registrationId"] for r in e["registrations"] if not r.get("isDeleted")))
    cdp.send("ServiceWorker.enable")
    return found


NOTIFICATIONS = "self.registration.getNotifications().then((ns) => ns.map((n) => ({title: n.title, body: n.body, " \
                "tag: n.tag, lang: n.lang, data: n.data})))"


def test_the_service_worker_shows_a_pushed_message_once_and_a_click_opens_its_screen(context, page, pwa):
    context.grant_permissions(["notifications"], origin=pwa.server.url)
    pwa.enrol("worker3")
    page.goto(pwa.server.url + "/#/today")
    page.wait_for_selector(".visit-link")
    cdp = context.new_cdp_session(page)
    registrations = _registration_id(cdp)
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    for _ in range(50):
        if registrations:
            break
        page.wait_for_timeout(100)
    assert registrations, "no service worker registration reported over CDP"
    message = {"id": "7f0c1a52-0000-4000-8000-000000000001", "kind": "deadline_today",
               "title": "Efterregistrera i dag", "body": "Du har 2 besök att efterregistrera senast i dag 23:59.",
               "title_en": "Post-register today", "body_en": "You have 2 visits to post-register by today 23:59.",
               "url": "/#/postreg", "at": "2026-11-23T08:00:00+00:00"}
    for _ in range(2):  # the server may have had to send it twice: the phone shows it once
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": pwa.server.url,
                                                      "registrationId": registrations[-1],
                                                      "data": json.dumps(message)})
    worker = context.service_workers[0]
    shown = []
    for _ in range(100):
        shown = worker.evaluate(NOTIFICATIONS)
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [{"title": "Efterregistrera i dag", "body": message["body"], "tag": message["id"],
                      "lang": "sv", "data": {"url": "/#/postreg", "id": message["id"], "kind": "deadline_today"}}]

    # What a click on the notification does: the open app window goes to the notification's screen.
    worker.evaluate("self.registration.getNotifications().then((ns) => self.hvPush.open(ns[0].data.url))")
    page.wait_for_url("**/#/postreg")
    assert page.inner_text("h1") == "Att efterregistrera"

    # "The system is back": the service worker sends the outbox at once and tells the open app.
    page.evaluate("window.__sw = []; navigator.serviceWorker.addEventListener('message', "
                  "(e) => window.__sw.push(e.data && e.data.type))")
    back = {**message, "id": "7f0c1a52-0000-4000-8000-000000000002", "kind": "outage_ended",
            "title": "Systemet är tillbaka", "url": "/#/sync"}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": pwa.server.url, "registrationId": registrations[-1],
                                                  "data": json.dumps(back)})
    for _ in range(100):
        if "outbox-changed" in page.evaluate("window.__sw"):
            break
        page.wait_for_timeout(100)
    assert page.evaluate("window.__sw") == ["push", "outbox-changed"]

    # A message may not send the worker off this site.
    assert worker.evaluate("self.hvPush.safeUrl('https://evil.example/')") == "/"
    assert worker.evaluate("self.hvPush.safeUrl('//evil.example/x')") == "/"
