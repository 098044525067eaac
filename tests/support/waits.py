"""Waiting for a page's state in the browser tests without `page.wait_for_function`.

Playwright's wait_for_function evaluates its predicate with `eval` inside the page, and the app's Content
Security Policy (script-src 'self', no 'unsafe-eval') rightly refuses that in current Chromium. `page.evaluate`
goes through the DevTools protocol instead, which the policy does not govern: poll it."""
import time

from playwright.sync_api import Error

TRANSIENT = ("Execution context was destroyed", "navigation", "Cannot find context")


def wait_js(page, expression, arg=None, timeout=30_000, polling=100):
    """Poll `expression` (a JS expression or function, given `arg`) until it is truthy; its value, or a
    TimeoutError naming the expression after `timeout` ms. A page navigating meanwhile is polled again."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            value = page.evaluate(expression, arg)
        except Error as exc:
            if not any(t in str(exc) for t in TRANSIENT):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} ms for: {expression}")
        page.wait_for_timeout(polling)
