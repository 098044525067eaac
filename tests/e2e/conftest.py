"""Browser tests as users meet the app: the real server as its own process, Debian's Chromium via Playwright.

Fixtures:
* `live_server` (and `live_server_factory(pwa_dir=None)`) — a fresh instance folder with `flask init` + `flask demo`, served by `flask run` in a
  subprocess. `.url`, `.stop()` (kill: a crash or an outage), `.start()` (same database),
  `.query(sql, **params)` (rows from its database), `.login(username, device_id)` (token answer via HTTP).
* `browser` — Chromium (session-wide). Without /usr/bin/chromium: skipped, or failed when `CI` is set.
  `playwright_driver` — Playwright itself, and `launch_options`, for a browser of your own (persistent profile).
* `context` / `page` — 360 px wide phone, Swedish locale, Stockholm time. `page` fails the test on
  uncaught JavaScript errors and Content-Security-Policy violations.
* `pwa` — a `PwaDriver` for the worker app (login, PIN, unlock, wait for the service worker, dump IndexedDB).
* `shots` — `shots(page_or_locator, name)` saves a screenshot under tests/e2e/screenshots/ (gitignored).
* `push_body` — `push_body(request)`: the JSON of a Playwright request to /api/sync/push (the app gzips it).
"""
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.waits import wait_js

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# Let context.route() see the service worker's own requests (Background Sync sends from there).
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")
PHONE = {"width": 360, "height": 740}

def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.e2e)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Serves the PWA from another folder (a test's copy it may change, e.g. a new service worker version).
BOOT_WITH_PWA_DIR = """
import sys
import server.web
server.web.PWA_DIR = sys.argv[1]
from server import create_app
create_app().run(host="127.0.0.1", port=int(sys.argv[2]), use_reloader=False, threaded=True)
"""


class LiveServer:
    """The app in its own process, so a test can kill it like a real outage and start it again."""

    def __init__(self, instance: Path, pwa_dir: Path | None = None):
        self.instance = instance
        self.pwa_dir = pwa_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{instance / 'e2e.db'}"
        self.env = {**os.environ, "HEMVARD_INSTANCE": str(instance), "DATABASE_URL": self.database_url,
                    "FLASK_APP": "server", "PYTHONUNBUFFERED": "1"}
        self.env.pop("FLASK_DEBUG", None)
        self.process = None
        self.log_path = instance / "server.log"
        self._engine = None

    def flask(self, *args):
        subprocess.run([sys.executable, "-m", "flask", "--app", "server", *args], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=180)

    def start(self):
        log = open(self.log_path, "ab")
        command = [sys.executable, "-m", "flask", "--app", "server", "run", "--host", "127.0.0.1",
                   "--port", str(self.port), "--no-reload"]
        if self.pwa_dir:
            command = [sys.executable, "-c", BOOT_WITH_PWA_DIR, str(self.pwa_dir), str(self.port)]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as res:
                    if res.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer on {self.url}:\n{self.log()}")

    def stop(self):
        """Kill, not shut down: the phone must cope with a server that vanishes mid-request."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def query(self, sql, **params):
        from sqlalchemy import create_engine, text
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        with self._engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [dict(row._mapping) for row in result] if result.returns_rows else result.rowcount

    def request(self, path, body=None, token=None, method=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method or ("POST" if data else "GET"))
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, json.loads(res.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def login(self, username, device_id, password="demo"):
        status, body = self.request("/api/auth/token", {"username": username, "password": password,
                                                        "device_id": device_id})
        assert status == 200, body
        return body

    def close(self):
        self.stop()
        if self._engine is not None:
            self._engine.dispose()


@pytest.fixture(scope="session")
def demo_instance(tmp_path_factory):
    """`flask init` + `flask demo` once per session; every test gets its own copy of the folder."""
    template = LiveServer(tmp_path_factory.mktemp("template") / "instance")
    template.instance.mkdir()
    template.flask("init")
    template.flask("demo")
    return template.instance


@pytest.fixture
def live_server_factory(tmp_path, demo_instance):
    """live_server_factory(pwa_dir=None): a started server on a fresh copy of the demo instance."""
    servers = []

    def make(pwa_dir=None):
        instance = tmp_path / f"instance{len(servers) or ''}"
        shutil.copytree(demo_instance, instance)
        servers.append(LiveServer(instance, pwa_dir=pwa_dir).start())
        return servers[-1]
    yield make
    for server in servers:
        server.close()


@pytest.fixture
def live_server(live_server_factory):
    return live_server_factory()


@pytest.fixture(scope="session")
def playwright_driver():
    """Playwright itself, for tests that need their own browser (e.g. a persistent profile)."""
    if not os.path.exists(CHROMIUM):
        message = "Browser tests need Chromium at /usr/bin/chromium: install it with `apt-get install chromium`."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def launch_options():
    """Keyword arguments for launching Debian's Chromium the way every test here does."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser(playwright_driver):
    instance = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=PHONE, locale="sv-SE", timezone_id="Europe/Stockholm",
                              service_workers="allow", device_scale_factor=1)
    ctx.set_default_timeout(20000)
    yield ctx
    ctx.close()


class PageProblems:
    """Uncaught errors and CSP violations seen by a page; both fail the test."""

    def __init__(self):
        self.items = []

    def watch(self, page):
        page.on("pageerror", lambda err: self.items.append(f"pageerror: {err}"))
        page.on("console", lambda msg: self.items.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        return page


@pytest.fixture
def page_problems():
    return PageProblems()


@pytest.fixture
def page(context, page_problems):
    p = page_problems.watch(context.new_page())
    yield p
    assert not page_problems.items, page_problems.items


def read_push_body(request):
    """The JSON of a Playwright request to /api/sync/push; the app sends it gzipped (Content-Encoding)."""
    data = request.post_data_buffer or b""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data or b"{}")


@pytest.fixture
def push_body():
    return read_push_body


@pytest.fixture
def shots():
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(target, name, full_page=True):
        """`target` is a page (whole page or viewport) or a locator (just that element)."""
        path = SCREENSHOTS / f"{name}.png"
        if hasattr(target, "goto"):
            target.screenshot(path=str(path), full_page=full_page)
        else:
            target.screenshot(path=str(path))
        return path
    return take


DUMP_IDB = """async () => {
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf.buffer ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf)));
  const plain = (v) => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return {bytes: b64(v)};
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
  };
  const out = {};
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((res, rej) => { const r = indexedDB.open(info.name); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const stores = {};
    for (const name of db.objectStoreNames) {
      const tx = db.transaction(name);
      const store = tx.objectStore(name);
      const keys = await new Promise((res) => { const r = store.getAllKeys(); r.onsuccess = () => res(r.result); });
      const values = await new Promise((res) => { const r = store.getAll(); r.onsuccess = () => res(r.result); });
      stores[name] = {keyPath: store.keyPath, indexes: [...store.indexNames], keys: plain(keys), values: plain(values)};
    }
    out[info.name] = stores;
    db.close();
  }
  return out;
}"""


class PwaDriver:
    """What a worker does in the app, step by step, in words the tests can read."""

    def __init__(self, page, server):
        self.page, self.server = page, server

    def open(self, path="/"):
        self.page.goto(self.server.url + path)
        return self

    def wait_for_service_worker(self):
        """Install, then reload once so the service worker controls the page (TESTING.md)."""
        self.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        if not self.page.evaluate("Boolean(navigator.serviceWorker.controller)"):
            self.page.reload()
        wait_js(self.page, "Boolean(navigator.serviceWorker.controller)")
        return self

    def login(self, username, password="demo"):
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("form button[type=submit]")
        return self

    def set_pin(self, pin):
        self.page.fill("#pin", pin)
        self.page.fill("#pin2", pin)
        self.page.click("form button[type=submit]")
        return self

    def unlock(self, pin):
        self.page.fill("#pin", pin)
        self.page.click("form button[type=submit]")
        return self

    def enrol(self, username, pin="2580"):
        """First use: log in, choose a PIN, wait until the shift is on the phone."""
        self.open().wait_for_service_worker()
        self.login(username).set_pin(pin)
        self.page.wait_for_selector(".visit-link", timeout=60000)
        return self

    def status_text(self):
        """The one-line status at the top (network, data age, unsynced records)."""
        return self.page.inner_text("#statusbar")

    def status_details(self):
        """Tap the status line open and read its details (who is logged in, the whole age, the network)."""
        if self.page.get_attribute("#status-toggle", "aria-expanded") != "true":
            self.page.click("#status-toggle")
        return self.page.inner_text("#status-panel")

    def set_language(self, code):
        """The language switch lives in the status details."""
        if self.page.get_attribute("#status-toggle", "aria-expanded") != "true":
            self.page.click("#status-toggle")
        self.page.click(f"#lang-switch[lang={code}]")
        wait_js(self.page, "(code) => document.documentElement.lang === code", arg=code)
        self.page.click("#status-toggle")
        return self

    def pending(self):
        return self.page.evaluate("""() => new Promise((res, rej) => {
          const r = indexedDB.open('hemvard'); r.onerror = () => rej(r.error);
          r.onsuccess = () => { const db = r.result; const q = db.transaction('outbox').objectStore('outbox').getAll();
            q.onsuccess = () => { db.close(); res(q.result.map((e) => ({id: e.id, state: e.state, code: e.code || null}))); }; };
        })""")

    def dump_indexeddb(self):
        return self.page.evaluate(DUMP_IDB)

    def go(self, hash_route):
        """Navigate inside the app (same document, like tapping a link)."""
        self.page.evaluate("(h) => { location.hash = h; }", hash_route)
        return self

    def visit_ids(self):
        """Visit ids of the Today list, in the order shown."""
        self.go("#/today")
        self.page.wait_for_selector(".visit-link")
        return [int(h.rsplit("/", 1)[1]) for h in
                self.page.eval_on_selector_all(".visit-link", "els => els.map(e => e.getAttribute('href'))")]

    def record_visit(self, visit_id):
        """Start, every planned intervention done, end — the way a worker taps through a visit."""
        self.go(f"#/visit/{visit_id}")
        self.page.click("#start-visit")
        self.page.wait_for_selector("#end-visit:not([disabled])")
        buttons = self.page.eval_on_selector_all("button.ok", "els => els.map(e => e.id)")
        for n, button in enumerate(buttons, start=1):
            self.page.click(f"#{button}")
            wait_js(self.page, "(n) => document.querySelectorAll('.intervention [aria-pressed=true]').length >= n", arg=n)
        self.page.click("#end-visit")
        self.page.wait_for_selector(".done-time >> nth=1")
        return len(buttons) + 2

    def add_note(self, visit_id, text):
        self.go(f"#/visit/{visit_id}")
        self.page.fill("#note-text", text)
        self.page.click("#note-save")
        wait_js(self.page, "() => document.querySelector('#note-text').value === ''")

    def report_deviation(self, visit_id, category, text):
        self.go(f"#/visit/{visit_id}")
        self.page.click("#deviation summary")  # the form starts closed
        self.page.select_option("#deviation-category", category)
        self.page.fill("#deviation-text", text)
        self.page.click("#deviation-save")
        wait_js(self.page, "() => document.querySelector('#deviation-text').value === ''")

    def wait_pending(self, n, timeout=30.0):
        """Poll the outbox until `n` entries wait (page.wait_for_function does not await promises)."""
        deadline = time.monotonic() + timeout
        while True:
            pending = [e for e in self.pending() if e["state"] == "pending"]
            if len(pending) == n:
                return pending
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(pending)} entries pending, expected {n}")
            self.page.wait_for_timeout(200)

    def sync_now(self):
        self.go("#/sync")
        self.page.click("#sync-now")
        return self


@pytest.fixture
def pwa(page, live_server):
    return PwaDriver(page, live_server)

