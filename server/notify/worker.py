"""The push worker: runs the scheduled checks, fans out new notifications and delivers due ones, in a loop."""
import signal
import time

import requests
from flask import current_app

from ..extensions import db
from ..models import utcnow
from .checks import run_checks
from .outbox import deliver_due, fan_out


def run_once(now=None, http_session=None, checks=True):
    """One pass; returns what it did (for `--once` and tests)."""
    now = now or utcnow()
    report = {"checks": run_checks(now) if checks else {}}
    report["fanned_out"] = fan_out(now)
    report["sent"] = deliver_due(current_app.extensions["vapid"], now, http_session=http_session)
    return report


def run_forever(poll_seconds, check_seconds, log=print):
    """Until SIGTERM/SIGINT: a crash anywhere in between loses nothing (see outbox.py)."""
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    http = requests.Session()
    next_check = 0.0
    log(f"push worker: polling every {poll_seconds}s, checks every {check_seconds}s")
    while not stopping:
        started = time.monotonic()
        try:
            report = run_once(http_session=http, checks=started >= next_check)
            if started >= next_check:
                next_check = started + check_seconds
            if report["fanned_out"] or report["sent"]:
                log(f"push worker: {report}")
        except Exception:  # the database may be restarting: keep the loop alive, the outbox keeps the work
            db.session.rollback()
            current_app.logger.exception("push worker pass failed")
        finally:
            db.session.remove()
        while not stopping and time.monotonic() - started < poll_seconds:
            time.sleep(0.1)
    log("push worker: stopped")
