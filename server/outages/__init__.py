"""Outages and post-registration (issue 4): outages, the gaps they leave, who registers them and by when.

`init_app(app)` reads the settings and registers the blueprint. The pulse (heartbeat, then what the clock
changes) is the `outage_pulse` job of `flask worker` (server/jobs.py), never a thread of a web process.
"""
import json
import os

import click

SETTINGS = {  # name: (default, parser); each may be set in the environment
    "OUTAGE_THRESHOLD_MINUTES": ("600", int),  # seed 004: up to 10 h each worker post-registers (inclusive)
    "OUTAGE_SELF_DEADLINE_DAYS": ("1", int),  # "may be done the day after": end of the next calendar day
    "OUTAGE_ADMIN_GRACE_DAYS": ("2", int),  # administrators get this many days more than the worker had
    "OUTAGE_LONG_POLICY": ("", lambda v: json.loads(v) if v else None),  # standing policy, e.g. {"route":"admin"}
    "OUTAGE_HEARTBEAT_SECONDS": ("60", float),  # period of the worker's outage_pulse job (0: never)
    "OUTAGE_HEARTBEAT_MAX_SILENCE": ("300", int),  # a longer silence is proposed as an outage
    "OUTAGE_EVIDENCE_MIN_DEVICES": ("2", int),  # devices of one unit failing together = a proposed outage
    "OUTAGE_EVIDENCE_LOOKBACK_HOURS": ("48", int),
}


def init_app(app):
    from . import api, openapi
    for name, (default, parse) in SETTINGS.items():
        if name not in app.config:
            app.config[name] = parse(os.environ.get(name, default))
    app.register_blueprint(api.bp)
    openapi.register_openapi()

    @app.cli.command("outages-tick")
    def tick_command():
        """One pulse now, outside the worker's schedule (harmless beside it: the pulse is idempotent)."""
        from ..jobs import outage_pulse
        from ..models import utcnow
        click.echo(f"Heartbeat written; {outage_pulse(utcnow())}.")
