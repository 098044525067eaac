"""Dashboards for managers and administrators: backlog, readiness, access-log review and exports."""
import os

import click

# Settings of this area (each overridable by an environment variable of the same name).
DEFAULTS = {
    "DEVICE_SILENT_MINUTES": 8 * 60,  # a phone not heard from for a shift's length is "silent"
    "READINESS_SHIFT_HOURS": 12,  # "the coming shift" the offline copy must cover
    "DASHBOARD_TREND_DAYS": 14,
    "DASHBOARD_LIST_LIMIT": 200,  # rows of devices shown; totals always count them all
    "ACCESS_CHECK_INTERVAL_DAYS": 30,  # documented access-log checks are due this often
}


def init_app(app):
    for name, default in DEFAULTS.items():
        app.config.setdefault(name, int(os.environ.get(name, default)))
    from .views import bp, pages, register_openapi
    app.register_blueprint(bp)
    app.register_blueprint(pages)
    register_openapi()

    @app.cli.command("dashboard-snapshot")
    def snapshot_command():
        """Store today's backlog figures of every unit (run from cron, e.g. every hour)."""
        from ..extensions import db
        from ..models import Unit, utcnow
        from . import queries
        now = utcnow()
        for unit in db.session.query(Unit).order_by(Unit.id):
            totals = queries.backlog_totals(unit.id, now)
            queries.record_snapshot(unit.id, now, totals, min_interval_seconds=0)
            click.echo(f"{unit.name}: {totals['pending_records']} väntande poster på "
                       f"{totals['devices_with_pending']} enheter")

    @app.cli.command("prune-access-log")
    @click.option("--dry-run", is_flag=True, help="Only list the months that would be removed.")
    def prune_command(dry_run):
        """Archive, then remove, the access log's months past retention now (the worker's retention job does it
        daily): never under five years, each month as CSV in ACCESS_LOG_ARCHIVE_DIR first."""
        from ..access_log_retention import expire, expired_months
        if dry_run:
            click.echo(f"Skulle tas bort: {', '.join(expired_months()) or 'inget'}.")
        else:
            click.echo(f"Borttaget: {', '.join(expire()) or 'inget'}.")
