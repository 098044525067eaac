"""The push side of `flask worker` (server/jobs.py): fan out new notifications and deliver the due ones."""
from flask import current_app

from ..models import utcnow
from .checks import run_checks
from .outbox import deliver_due, fan_out


def deliver(now=None, http_session=None):
    """One round of the outbox; returns what it did."""
    now = now or utcnow()
    return {"fanned_out": fan_out(now),
            "sent": deliver_due(current_app.extensions["vapid"], now, http_session=http_session)}


def run_once(now=None, http_session=None, checks=True):
    """The scheduled checks (the worker runs them as the `push_checks` job), then one round of delivery."""
    now = now or utcnow()
    return {"checks": run_checks(now) if checks else {}, **deliver(now, http_session)}
