"""Command-line tasks: `flask --app server init | demo | rebuild-projection | restore-drill`."""
from datetime import datetime

import click
from flask_migrate import upgrade

from .extensions import db


def init_app(app):
    @app.cli.command("init")
    def init_command():
        """Create secrets and keys in the instance folder (if missing) and migrate the database."""
        upgrade(revision="heads")  # every area's migrations, merged or not
        click.echo(f"Database ready; instance folder {app.instance_path}")

    @app.cli.command("demo")
    @click.option("--now", help="Pretend it is this moment (ISO 8601), for reproducible demos.")
    def demo_command(now):
        """Create the fictitious demo municipality (once) and schedules around today."""
        from .demo import seed
        created, days = seed(now=datetime.fromisoformat(now) if now else None)
        click.echo(("Demo municipality created. " if created else "Demo municipality present. ")
                   + (f"Schedules added for {', '.join(days)}." if days else "Schedules already in place."))
        click.echo("Logins (password 'demo'): worker1…worker12, admin1, admin2, manager1, manager2")

    @app.cli.command("rebuild-projection")
    def rebuild_command():
        """Recompute registrations from the event log (the log is the truth; the projection is derived)."""
        from .projection_store import rebuild
        regs, outcomes = rebuild()
        db.session.commit()
        click.echo(f"Rebuilt {regs} registrations and {outcomes} intervention records from the event log.")

    @app.cli.command("restore-drill")
    @click.option("--target", default=None, help="Name of the new database (default: <this database>_drill).")
    @click.option("--keep", is_flag=True, help="Keep the restored database for a look.")
    def restore_drill_command(target, keep):
        """pg_dump → restore into a new database → rebuild-projection there → every count and the projection equal."""
        from sqlalchemy.engine import make_url

        from .restore_drill import drill
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() != "postgresql":
            raise click.UsageError("The drill is for PostgreSQL; back SQLite up with sqlite3's .backup.")
        if not drill(url, target or f"{url.database}_drill", keep=keep, log=click.echo):
            raise SystemExit(1)
