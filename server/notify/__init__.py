"""Web Push: VAPID keys, subscriptions, the transactional notification outbox and its delivery (by `flask worker`).

Other areas call `enqueue(kind, recipients, data, session=None)` in the same transaction as the fact that
causes the notification; `recipients` has the usual groups (staff_of, admins_of, managers_of).
"""
import os

from .kinds import KINDS, PayloadError  # noqa: F401
from .outbox import enqueue  # noqa: F401
from .recipients import admins_of, managers_of, staff_of  # noqa: F401

DEFAULT_PUSH_HOSTS = ("fcm.googleapis.com,.push.services.mozilla.com,.push.apple.com,"
                      ".notify.windows.com,.wns.windows.com")

SETTINGS = {  # name: (default, parser); each may be set in the environment
    "VAPID_SUBJECT": ("mailto:drift@hemvard.example", str),  # who push services can contact about us
    "PUSH_ENDPOINT_HOSTS": (DEFAULT_PUSH_HOSTS, str),  # push services we POST to; ".x" = any subdomain
    "PUSH_ALLOW_HTTP": ("0", lambda v: v in ("1", "true", "yes")),  # tests only: a local push service
    "PUSH_POLL_SECONDS": ("2", float),  # how often `flask worker` looks at the outbox (and for due jobs)
    "PUSH_CHECK_SECONDS": ("60", float),  # period of the push_checks job
    "PUSH_LEASE_SECONDS": ("60", int),  # longer than a send can take; then a crashed worker's rows free up
    "PUSH_SEND_TIMEOUT": ("10", float),
    "PUSH_RETRY_BASE_SECONDS": ("30", int),
    "PUSH_RETRY_MAX_SECONDS": ("3600", int),
    "PUSH_MAX_ATTEMPTS": ("12", int),
    "PUSH_STALE_COPY_ACTIVE_HOURS": ("24", int),  # only nag about devices used lately
    "PUSH_KEEP_DAYS": ("30", int),  # outbox rows are deleted this long after they were made
    "PUSH_REMINDER_HOUR": ("7", int),  # day-before reminders of planned outages go out from this local hour
}


def init_app(app):
    from . import api, vapid
    for name, (default, parse) in SETTINGS.items():
        if name not in app.config:
            app.config[name] = parse(os.environ.get(name, default))
    app.extensions["vapid"] = vapid.load_or_create(app.instance_path)
    app.register_blueprint(api.bp)

