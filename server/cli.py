"""Command-line tasks: `flask --app server init | demo | rebuild-projection | import | restore-drill`."""
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

    @app.cli.command("import")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
    @click.option("--dry-run", is_flag=True, help="Check and show what would change; write nothing.")
    def import_command(paths, dry_run):
        """Import units, staff, clients, care plans, medications and visits from .csv/.xlsx files or folders
        (docs/import/README.md). Any error: nothing is written and the exit code is 1."""
        from .importer import run_import
        from .importer.read import path_tables
        outcome = run_import(lambda: path_tables(paths), apply=not dry_run, actor={"name": "flask import"},
                             progress=lambda message: click.echo(message, err=True))
        if not outcome.ok:
            db.session.rollback()
            for problem in outcome.problems:
                click.echo(f"FEL {problem}", err=True)
            click.echo(f"{len(outcome.problems)} fel; inget har ändrats.", err=True)
            raise SystemExit(1)
        db.session.commit()
        for kind, counts in outcome.diff.items():
            click.echo(f"{kind:12} {counts['created']:7} nya {counts['changed']:7} ändrade "
                       f"{counts['unchanged']:7} oförändrade {counts['cancelled']:7} inställda")
            for item in counts["items"][:20]:
                click.echo(f"    {item['action']:9} {item['key']}: " + ", ".join(
                    f"{field} {change['before']!r} → {change['after']!r}" if item["action"] != "created"
                    else field for field, change in item["changes"].items()))
        click.echo("Torrkörning: inget har skrivits." if dry_run else "Importen är sparad.")

    @app.cli.group("integration-token")
    def token_group():
        """Integration tokens for a planning system (POST /api/integration/import), for one or more units."""

    @token_group.command("create")
    @click.argument("name")
    @click.option("--unit", "codes", multiple=True, required=True, help="A unit's code (or external id); repeat.")
    def token_create(name, codes):
        """Make a token for the given units; its secret is printed once and never stored."""
        from sqlalchemy import or_, select
        from .importer import tokens
        from .models import Unit
        units = []
        for code in codes:
            unit = db.session.scalar(select(Unit).where(or_(Unit.code == code, Unit.external_id == code)))
            if unit is None:
                raise click.ClickException(f"Okänd enhet {code!r}.")
            units.append(unit)
        token, secret = tokens.create(name, units, {"name": "flask integration-token"})
        db.session.commit()
        click.echo(f"Nyckel {token.id} ({name}) för {', '.join(u.name for u in units)}:")
        click.echo(secret)

    @token_group.command("revoke")
    @click.argument("token_id", type=int)
    def token_revoke(token_id):
        """Revoke a token: its next request gets 401."""
        from .importer import tokens
        from .importer.models import IntegrationToken
        token = db.session.get(IntegrationToken, token_id)
        if token is None:
            raise click.ClickException(f"Nyckel {token_id} finns inte.")
        tokens.revoke(token, {"name": "flask integration-token"})
        db.session.commit()
        click.echo(f"Nyckel {token_id} ({token.name}) är återkallad.")

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
