"""Closing the loop (issue 30): what workers record reaches the people and systems that need it — deviations,
missed care, handover notes to the next visit, the transfer back to the journal after an outage (återföring), approval and export of a period.

`on_events_stored` is called by `server.ingest.store_events` for every newly stored record; `init_app(app)`
reads the settings and registers the blueprint.
"""
import os

SETTINGS = {  # name: (default, parser); each may be set in the environment
    # A record that reached the server this long after the phone recorded it was made offline.
    "LOOP_OFFLINE_SECONDS": ("300", int),
    # Care-plan intervention codes that are medication hand-overs (demo: LM, Läkemedelsöverlämning).
    "LOOP_MEDICATION_CODES": ("LM", lambda v: tuple(c.strip() for c in v.split(",") if c.strip())),
    # Outages that started this many days ago or less have a transfer list (older ones are long transferred).
    "LOOP_TRANSFER_DAYS": ("60", int),
    # A handover note (Till nästa besök) not acknowledged this many days after it was written is no longer sent.
    "LOOP_HANDOVER_DAYS": ("7", int),
}


def init_app(app):
    from . import api, models  # noqa: F401  (models: the tables, for the metadata)
    for name, (default, parse) in SETTINGS.items():
        if name not in app.config:
            app.config[name] = parse(os.environ.get(name, default))
    app.register_blueprint(api.bp)
    api.register_openapi()


def on_events_stored(stored):
    """The side effects of newly stored records (pairs of `ingest.ToStore` and its log row), in the caller's
    transaction: a deviation gets its row and its people told; a medication not handed over is told too."""
    from . import deviations, missed
    deviations.record([(item, row) for item, row in stored if row["type"] == "deviation_reported"])
    missed.notify_medication([(item, row) for item, row in stored if row["type"] == "intervention_recorded"])
