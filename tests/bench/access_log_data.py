"""Years of a municipality's access log, generated inside PostgreSQL (INSERT … SELECT FROM generate_series): a
month per partition, two sessions at a time, the way the app makes its partitions.

The municipality: 30 units, each with 100 workers (one phone each), a manager and an administrator, and 500
clients — 3,060 people, 15,000 clients, all invented (personal numbers born in the 1800s). Each day has
`per_day` rows ending now, spread as a day of home care spreads them (UTC, so about an hour behind Stockholm):
3 % in the night, 45 % in the morning rounds 04:30–10:00, 30 % until 15:00, 19 % in the evening, 3 % late;
ids and times rise together, as a log written as it happens. What the rows are, by share:

* 55 % `sync_pull`: a phone's shift package, one row per client (log_reads);
* 25 % `open_care_plan` · `open_person_card` · `open_medication_list` · `open_overview` on a phone, of which
  30 % were read offline (`offline`, the record's `event_id`, logged minutes later when the phone synced);
* 10 % `read_client`, 5 % `post_registration_list`, 3 % `deviation_open`, 1.5 % `cancelled_visits`;
* 0.5 % `access_log_review` by the unit's manager (no client);
* 0.05 % refused: a worker reaching for another unit's client (`denied`, `other_unit`).

Every worker acts on the clients of their own unit, chosen uniformly (about 18,000 rows a client and 90,000 a
worker over five years at 150,000 rows a day).
"""
import threading
import time
from datetime import datetime, timedelta, timezone

import psycopg

from server import models  # noqa: F401  (first: the models import the retention module)
from server.access_log_retention import month_start, next_month, partition_name  # noqa: E402

UNITS, WORKERS_PER_UNIT, CLIENTS_PER_UNIT = 30, 100, 500
WORKERS = UNITS * WORKERS_PER_UNIT
MANAGER_PASSWORD = "bänk-chef-lösen"


def libpq(url):
    return url.replace("postgresql+psycopg://", "postgresql://")


def seed_people(conn, password_hash):
    """Units, workers with their phones, a manager and an administrator per unit, clients (ids from 1)."""
    conn.execute("""
        INSERT INTO units (id, code, name) SELECT u, 'B' || lpad(u::text, 3, '0'), 'Hemtjänst Bänk ' || u
        FROM generate_series(1, %(units)s) u""", {"units": UNITS})
    conn.execute("""
        INSERT INTO users (id, username, display_name, role, unit_id, password_hash, active)
        SELECT w, 'bench' || w, 'Bänk Arbetare ' || w, 'worker', (w - 1) / %(wpu)s + 1, %(hash)s, true
        FROM generate_series(1, %(workers)s) w""", {"wpu": WORKERS_PER_UNIT, "workers": WORKERS, "hash": "x"})
    conn.execute("""
        INSERT INTO users (id, username, display_name, role, unit_id, password_hash, active)
        SELECT %(workers)s + 2 * u - 1 + r, CASE r WHEN 0 THEN 'chef' ELSE 'admin' END || u,
               CASE r WHEN 0 THEN 'Bänk Chef ' ELSE 'Bänk Admin ' END || u,
               CASE r WHEN 0 THEN 'manager' ELSE 'admin' END, u, %(hash)s, true
        FROM generate_series(1, %(units)s) u, generate_series(0, 1) r""",
                 {"workers": WORKERS, "units": UNITS, "hash": password_hash})
    conn.execute("""
        INSERT INTO devices (id, user_id, unit_id, name, enrolled_at, token_generation)
        SELECT md5('ph' || w)::uuid::text, w, (w - 1) / %(wpu)s + 1, 'Bänktelefon', now() - interval '6 years', 0
        FROM generate_series(1, %(workers)s) w""", {"wpu": WORKERS_PER_UNIT, "workers": WORKERS})
    conn.execute("""
        INSERT INTO clients (id, unit_id, name, personal_number, address, person_card, updated_at)
        SELECT c, (c - 1) / %(cpu)s + 1, 'Fiktiv Brukare ' || c,
               (1820 + c %% 80)::text || lpad((1 + c %% 12)::text, 2, '0') || lpad((1 + c %% 28)::text, 2, '0')
               || '-' || lpad((c %% 10000)::text, 4, '0'),
               'Bänkgatan ' || c, '{}', now()
        FROM generate_series(1, %(clients)s) c""", {"cpu": CLIENTS_PER_UNIT, "clients": UNITS * CLIENTS_PER_UNIT})
    for table in ("units", "users", "clients"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    conn.commit()


def manager(unit):
    """(user id, username) of the unit's manager."""
    return WORKERS + 2 * unit - 1, f"chef{unit}"


# One partition's rows, from days [%(first)s, %(after)s) of the run that starts at %(start)s: `n` is the row's place
# in its day, and the piecewise-linear time of day rises with it (see the module's docstring for the shares).
FILL = """
INSERT INTO {table} (id, at, user_id, unit_id, client_id, action, outcome, device_id, offline, event_id, detail,
                     logged_at)
SELECT id, at, CASE WHEN a >= 0.995 THEN {workers} + 2 * unit - 1 ELSE worker END, unit,
       CASE WHEN a >= 0.995 THEN NULL WHEN denied THEN (unit %% {units}) * {cpu} + 1 + floor(c * {cpu})::int
            ELSE (unit - 1) * {cpu} + 1 + floor(c * {cpu})::int END,
       CASE WHEN denied THEN 'read_client' WHEN a < 0.55 THEN 'sync_pull'
            WHEN a < 0.80 THEN (ARRAY['open_care_plan', 'open_person_card', 'open_medication_list',
                                      'open_overview'])[1 + (a * 1000)::int %% 4]
            WHEN a < 0.90 THEN 'read_client' WHEN a < 0.95 THEN 'post_registration_list'
            WHEN a < 0.98 THEN 'deviation_open' WHEN a < 0.995 THEN 'cancelled_visits'
            ELSE 'access_log_review' END,
       CASE WHEN denied THEN 'denied' ELSE 'allowed' END,
       CASE WHEN a >= 0.995 THEN 'web-' || md5('chef' || unit) ELSE md5('ph' || worker)::uuid::text END,
       offline, CASE WHEN offline THEN md5(id::text)::uuid::text END,
       CASE WHEN denied THEN 'other_unit' WHEN a >= 0.995 THEN to_char(at, 'YYYY-MM-DD') || '..' END,
       CASE WHEN offline THEN at + (o * 7200) * interval '1 second' ELSE at END
FROM (SELECT id, at, a, c, o, worker, (worker - 1) / {wpu} + 1 AS unit, o < 0.0005 AS denied,
             a >= 0.55 AND a < 0.80 AND o >= 0.7 AS offline
      FROM (SELECT round(extract(epoch FROM day - %(start)s::timestamptz) / 86400)::bigint * %(per_day)s + n + 1 AS id,
                   day + (CASE WHEN t < 0.03 THEN t / 0.03 * 16200
                               WHEN t < 0.48 THEN 16200 + (t - 0.03) / 0.45 * 19800
                               WHEN t < 0.78 THEN 36000 + (t - 0.48) / 0.30 * 18000
                               WHEN t < 0.97 THEN 54000 + (t - 0.78) / 0.19 * 19800
                               ELSE 73800 + (t - 0.97) / 0.03 * 12599 END) * interval '1 second' AS at,
                   random() AS a, random() AS c, random() AS o, 1 + floor(random() * {workers})::int AS worker
            FROM generate_series(%(first)s::timestamptz, %(after)s::timestamptz - interval '1 day', '1 day') day,
                 LATERAL (SELECT n, n::float8 / %(per_day)s AS t
                          FROM generate_series(0, %(per_day)s - 1) n) r) g) x
WHERE at < now()
"""


def months(start, end):
    """The UTC months [first day, after) between `start` and `end`, newest first."""
    out, month = [], month_start(start)
    while month < end:
        out.append((month, max(month, start), min(next_month(month), end)))
        month = next_month(month)
    return out[::-1]


def fill_month(conn, month, first, after, start, per_day, existing):
    """Fill one month: as server.access_log_retention.ensure_partitions makes a partition (a table LIKE the
    log, filled, then attached: its indexes are built once, at the attach) — or, when the app has made it
    already (this month and the next), into the partition as it is. Returns the rows."""
    name = partition_name(month)
    sql = FILL.format(workers=WORKERS, units=UNITS, cpu=CLIENTS_PER_UNIT, wpu=WORKERS_PER_UNIT,
                      table=f'"{name}"')
    params = {"first": first, "after": after, "start": start, "per_day": per_day}
    with conn.transaction():
        if name not in existing:
            conn.execute(f'CREATE TABLE "{name}" (LIKE access_log INCLUDING DEFAULTS)')
        rows = conn.execute(sql, params).rowcount
        if name not in existing:
            conn.execute(f'ALTER TABLE access_log ATTACH PARTITION "{name}" '
                         f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')")
    return rows


def vacuum(conn, name):
    """VACUUM ANALYZE, as autovacuum would after so many inserts: statistics, and the visibility map that lets
    the review count from its indexes alone. A page is marked all-visible only when no transaction older
    than its rows is still open — so each session vacuums its month after its next one (the other session
    has begun a new month meanwhile), and `generate` vacuums again whatever is still mostly unmarked."""
    conn.execute(f'VACUUM (ANALYZE) "{name}"')


def generate(url, days, per_day, sessions=2, say=print):
    """`days` days of `per_day` rows ending now; returns {rows, seconds, start, months}."""
    now = datetime.now(timezone.utc)
    end = datetime(now.year, now.month, now.day, tzinfo=timezone.utc) + timedelta(days=1)
    start = end - timedelta(days=days)
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        existing = {r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'access_log'::regclass")}
    todo = months(start, end)
    total, failures, lock, started = [0], [], threading.Lock(), time.perf_counter()
    count = len(todo)

    def work():
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET maintenance_work_mem = '256MB'")
            previous = None
            while True:
                with lock:
                    if not todo or failures:
                        break
                    month, first, after = todo.pop(0)
                t0 = time.perf_counter()
                try:
                    rows = fill_month(conn, month, first, after, start, per_day, existing)
                    if previous:
                        vacuum(conn, previous)
                    previous = partition_name(month)
                except Exception as exc:  # stop the other session too; reported by the caller
                    failures.append(exc)
                    return
                with lock:
                    total[0] += rows
                    done = count - len(todo)
                elapsed = time.perf_counter() - started
                say(f"  {partition_name(month)}: {rows:,} rows in {time.perf_counter() - t0:.0f} s "
                    f"({total[0]:,} in {elapsed:.0f} s, {total[0] / elapsed:,.0f} rows/s)", flush=True)
            if previous and not failures:
                vacuum(conn, previous)

    threads = [threading.Thread(target=work) for _ in range(sessions)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if failures:
        raise failures[0]
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("SELECT setval('access_log_id_seq', (SELECT max(id) FROM access_log))")
        conn.execute("ANALYZE units, users, clients, devices")
        for (name,) in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'access_log'::regclass AND c.relallvisible < 0.9 * c.relpages").fetchall():
            vacuum(conn, name)
    return {"rows": total[0], "seconds": time.perf_counter() - started, "start": start, "months": count}
