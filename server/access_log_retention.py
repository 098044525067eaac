"""The access log over the years: monthly partitions on PostgreSQL, an archive of each month before it goes,
and the retention that removes whole months past ACCESS_LOG_RETENTION_DAYS — never under five years.

On PostgreSQL (migration 0014) `access_log` is partitioned by month (`access_log_YYYY_MM`, UTC months); a
month past retention is archived to a CSV file and its partition dropped. On SQLite, or a PostgreSQL table
not partitioned, the same month is archived and its rows deleted. Either way `access_log_removals` records
each month removed: how many rows, which archive file, its SHA-256.
"""
import hashlib
import os
import re
from datetime import datetime, timedelta, timezone

import click
from flask import current_app
from sqlalchemy import BigInteger, Integer, String, and_, delete, func, select, text

from .extensions import db
from .models import AccessLog, UTCDateTime, utcnow

MIN_DAYS = 5 * 366  # HSLF-FS 2016:40: access logs are kept at least five years, whatever is configured
MONTHS_AHEAD = 3  # partitions made in advance, so new rows never land in the DEFAULT partition
PARTITION = re.compile(r"^access_log_(\d{4}_\d{2}|default)$")


class AccessLogRemoval(db.Model):
    """A month of the access log that retention removed, and where its archive went."""

    __tablename__ = "access_log_removals"
    id = db.Column(Integer, primary_key=True)
    month = db.Column(String(7), nullable=False)  # YYYY-MM (UTC)
    rows = db.Column(BigInteger, nullable=False)
    archive = db.Column(String(500), nullable=False)
    sha256 = db.Column(String(64), nullable=False)
    removed_at = db.Column(UTCDateTime, nullable=False)


def month_start(moment):
    return datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)


def next_month(month):
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=timezone.utc)


def partition_name(month):
    return f"access_log_{month:%Y_%m}"


def include_name(name, type_, parent_names):
    """Alembic's `include_name`: the month partitions and their indexes are made at run time, not by the models,
    so autogenerate and the schema check leave them alone."""
    table = name if type_ == "table" else (parent_names or {}).get("table_name") or ""
    return not PARTITION.match(table)


def cutoff(now):
    """Rows older than this may go: the configured retention, never under five years."""
    return now - timedelta(days=max(current_app.config["ACCESS_LOG_RETENTION_DAYS"], MIN_DAYS))


def partitions():
    """The month partitions of access_log (empty on SQLite or when the table is not partitioned)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return set()
    return set(db.session.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('access_log') AND c.relname <> 'access_log_default'")))


def ensure_partitions(now):
    """This month's partition and the next few (PostgreSQL, when partitioned); returns the ones made.

    Rows that landed in the DEFAULT partition meanwhile (no worker ran for months) move into the new one."""
    have = partitions()
    if not have:
        return []
    made, month = [], month_start(now)
    for _ in range(MONTHS_AHEAD + 1):
        name, bounds = partition_name(month), {"first": month, "after": next_month(month)}
        if name not in have:
            db.session.execute(text(f'CREATE TABLE "{name}" (LIKE access_log INCLUDING DEFAULTS)'))
            db.session.execute(text(f'WITH moved AS (DELETE FROM access_log_default WHERE at >= :first AND '
                                    f'at < :after RETURNING *) INSERT INTO "{name}" SELECT * FROM moved'), bounds)
            db.session.execute(text(f'ALTER TABLE access_log ATTACH PARTITION "{name}" '
                                    f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"))
            made.append(name)
        month = next_month(month)
    db.session.commit()
    return made


def export_month(month, out):
    """Write one month of the whole log (every unit) as CSV to the binary file `out`, streamed; returns rows."""
    from .dashboard import access_review, csvexport, queries
    count = [0]

    def counted(rows):
        for row in rows:
            count[0] += 1
            yield row

    rows = access_review.access_log_rows(None, and_(AccessLog.at >= month, AccessLog.at < next_month(month)))
    for chunk in csvexport.access_log_csv(counted(rows), queries.zone()):
        out.write(chunk.encode())
    return count[0]


def archive_month(month, directory):
    """The month's CSV in `directory` (mode 0600: it names clients), written whole before it is named."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, f"atkomstlogg-{month:%Y-%m}.csv")
    partial = path + ".partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        rows = export_month(month, out)
        out.flush()
        os.fsync(out.fileno())
    digest = hashlib.sha256()
    with open(partial, "rb") as done:
        for block in iter(lambda: done.read(1 << 20), b""):
            digest.update(block)
    os.replace(partial, path)
    return path, rows, digest.hexdigest()


def oldest_month():
    """The first month that still has rows or a partition (None: the log is empty)."""
    oldest = db.session.scalar(select(func.min(AccessLog.at)))
    months = {datetime.strptime(name[-7:], "%Y_%m").replace(tzinfo=timezone.utc) for name in partitions()}
    if oldest is not None:
        months.add(month_start(oldest))
    return min(months, default=None)


def expired_months(now=None):
    """The months `expire` would remove now, oldest first."""
    month, months = oldest_month(), []
    while month is not None and next_month(month) <= cutoff(now or utcnow()):
        months.append(f"{month:%Y-%m}")
        month = next_month(month)
    return months


def expire(now=None, directory=None):
    """Archive, then remove, each whole month older than the cutoff, oldest first, one transaction a month."""
    now = now or utcnow()
    directory = directory or current_app.config["ACCESS_LOG_ARCHIVE_DIR"]
    removed = []
    while (month := oldest_month()) is not None and next_month(month) <= cutoff(now):
        path, rows, sha = archive_month(month, directory)
        bounds = {"first": month, "after": next_month(month)}
        if partition_name(month) in partitions():  # the whole month at once, and any strays in DEFAULT
            db.session.execute(text(f'DROP TABLE "{partition_name(month)}"'))
            db.session.execute(text("DELETE FROM access_log_default WHERE at >= :first AND at < :after"), bounds)
        else:
            db.session.execute(delete(AccessLog).where(AccessLog.at >= month, AccessLog.at < next_month(month)))
        db.session.add(AccessLogRemoval(month=f"{month:%Y-%m}", rows=rows, archive=path, sha256=sha,
                                        removed_at=utcnow()))
        db.session.commit()
        removed.append(f"{month:%Y-%m} ({rows} rows)")
    return removed


def init_app(app):
    app.config.setdefault("ACCESS_LOG_ARCHIVE_DIR", os.environ.get("ACCESS_LOG_ARCHIVE_DIR")
                          or os.path.join(app.instance_path, "access-log-archive"))

    @app.cli.command("access-log-archive")
    @click.argument("month")
    @click.option("--out", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
    def archive_command(month, out):
        """Export one UTC month (YYYY-MM) of the whole access log as CSV, streamed: e.g. before it is removed."""
        try:
            first = datetime.strptime(month, "%Y-%m").replace(tzinfo=timezone.utc)
        except ValueError:
            raise click.BadParameter("Ange månaden som ÅÅÅÅ-MM.", param_hint="MONTH")
        if out:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it names clients
            with os.fdopen(fd, "wb") as target:
                rows = export_month(first, target)
            click.echo(f"{rows} rader från {month} skrivna till {out}.", err=True)
        else:
            export_month(first, click.get_binary_stream("stdout"))
