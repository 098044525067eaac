"""Outages and post-registration (issue 4): outages, the gaps they leave, who registers them and by when.

`init_app(app)` reads the settings, registers the blueprint, and — when the server
serves requests — starts the background pulse that writes heartbeats and lets the clock re-evaluate gaps.
"""
import json
import logging
import os
import threading
import time

import click

log = logging.getLogger(__name__)

SETTINGS = {  # name: (default, parser); each may be set in the environment
    "OUTAGE_THRESHOLD_MINUTES": ("600", int),  # seed 004: up to 10 h each worker post-registers (inclusive)
    "OUTAGE_SELF_DEADLINE_DAYS": ("1", int),  # "may be done the day after": end of the next calendar day
    "OUTAGE_ADMIN_GRACE_DAYS": ("2", int),  # administrators get this many days more than the worker had
    "OUTAGE_LONG_POLICY": ("", lambda v: json.loads(v) if v else None),  # standing policy, e.g. {"route":"admin"}
    "OUTAGE_HEARTBEAT_SECONDS": ("60", int),  # how often the server writes its pulse (0: never)
    "OUTAGE_HEARTBEAT_MAX_SILENCE": ("300", int),  # a longer silence is proposed as an outage
    "OUTAGE_EVIDENCE_MIN_DEVICES": ("2", int),  # devices of one unit failing together = a proposed outage
    "OUTAGE_EVIDENCE_LOOKBACK_HOURS": ("48", int),
}


def init_app(app):
    from . import api, evaluation, evidence, openapi
    for name, (default, parse) in SETTINGS.items():
        if name not in app.config:
            app.config[name] = parse(os.environ.get(name, default))
    app.register_blueprint(api.bp)
    openapi.register_openapi()

    started = threading.Event()

    @app.before_request
    def _start_pulse():
        if not started.is_set() and not app.testing and app.config["OUTAGE_HEARTBEAT_SECONDS"] > 0:
            started.set()
            threading.Thread(target=_pulse, args=(app,), name="outage-pulse", daemon=True).start()

    @app.cli.command("outages-tick")
    def tick_command():
        """Write a heartbeat and re-evaluate gaps whose deadline passed or whose outage crossed the threshold."""
        from ..extensions import db
        proposal = evidence.heartbeat()
        reminded = evaluation.tick()
        db.session.commit()
        click.echo(f"Heartbeat written{'; proposed outage ' + str(proposal.id) if proposal else ''}; "
                   f"{reminded} deadline reminders.")


def _pulse(app):
    """Beat, then re-evaluate by the clock, every OUTAGE_HEARTBEAT_SECONDS; the first beat after a restart
    finds the server's own downtime."""
    from ..extensions import db
    from . import evaluation, evidence
    while True:
        with app.app_context():
            try:
                evidence.heartbeat()
                evaluation.tick()
                db.session.commit()
            except Exception:  # keep beating; the next round retries (e.g. a concurrent worker won a race)
                db.session.rollback()
                log.exception("outage pulse failed")
            finally:
                db.session.remove()
        time.sleep(app.config["OUTAGE_HEARTBEAT_SECONDS"])
