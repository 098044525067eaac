"""The restore drill (docs/operations.md): dump this PostgreSQL database, restore the dump into a new database,
run `flask rebuild-projection` there, and compare — every table's row count, and the projection row by row.

It proves two things a backup is for: the dump restores, and the event log alone gives back the registrations
the users saw. The counts and the projection of the original are read in the very snapshot pg_dump copies
(`pg_export_snapshot`), so the drill is exact on a database in use.
"""
import os
import subprocess
import sys
import tempfile

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .extensions import db

PROJECTION = ("registrations", "intervention_records")  # derived from the log; rebuilt in the restored copy


def _libpq(url):
    """The URL pg_dump and pg_restore understand (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _figures(conn):
    """Row counts of every table the models know, and the projection's rows without their surrogate ids."""
    counts = {t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar()
              for t in db.metadata.sorted_tables}
    projection = {}
    for name in PROJECTION:
        columns = [c.name for c in db.metadata.tables[name].columns if c.name != "id"]
        listed = ", ".join(f'"{c}"' for c in columns)
        projection[name] = [tuple(r) for r in conn.execute(text(f'SELECT {listed} FROM "{name}" ORDER BY {listed}'))]
    return counts, projection


def drill(source_url, target, keep=False, log=print):
    """Run the drill into a new database `target`; returns True when everything matched."""
    source = make_url(source_url)
    restored = source.set(database=target)
    engine = create_engine(source, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as admin:
            admin.execute(text(f'CREATE DATABASE "{target}"'))
        with engine.connect() as snapshot, tempfile.TemporaryDirectory() as folder:
            snapshot.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ"))
            snapshot_id = snapshot.execute(text("SELECT pg_export_snapshot()")).scalar()
            original = _figures(snapshot)
            dump = os.path.join(folder, "drill.dump")
            subprocess.run(["pg_dump", "--format=custom", f"--snapshot={snapshot_id}", f"--file={dump}",
                            _libpq(source)], check=True)
            snapshot.execute(text("COMMIT"))
            log(f"Dumped {source.database} ({os.path.getsize(dump)} bytes); restoring into {target}")
            subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq(restored)}", dump],
                           check=True)
        env = {**os.environ, "DATABASE_URL": restored.render_as_string(hide_password=False)}
        rebuilt = subprocess.run([sys.executable, "-m", "flask", "--app", "server", "rebuild-projection"], env=env,
                                 check=True, capture_output=True, text=True)
        log(rebuilt.stdout.strip())
        copy = create_engine(restored)
        with copy.connect() as conn:
            again = _figures(conn)
        copy.dispose()
        return _compare(original, again, log)
    finally:
        if not keep:
            with engine.connect() as admin:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        engine.dispose()


def _compare(original, restored, log):
    (counts, projection), (counts_again, projection_again) = original, restored
    same = True
    for name, count in counts.items():
        if counts_again[name] != count:
            same = False
            log(f"DIFFERS  {name}: {count} rows in the original, {counts_again[name]} restored")
    for name, rows in projection.items():
        if projection_again[name] != rows:
            same = False
            missing = len(set(rows) - set(projection_again[name]))
            log(f"DIFFERS  {name}: {missing} of {len(rows)} rows not given back by the log")
    log(f"{'Restore drill passed' if same else 'Restore drill FAILED'}: {len(counts)} tables, "
        f"{sum(counts.values())} rows; projection {', '.join(f'{n} {len(r)}' for n, r in projection.items())}")
    return same
