"""Benchmark: the access-log review and its CSV export over five years of a municipality's log on PostgreSQL.

Five years × 150,000 rows a day (≈ 274 million rows, issue 32) are generated inside PostgreSQL into the app's
own schema and month partitions (tests/bench/access_log_data.py), then the real server (gunicorn) answers a
unit's manager, logged in as the admin pages log in:

* the review's typical questions, p50/p95 per kind and overall (goal: p95 ≤ 150 ms): the latest page of the
  unit (the page's default week), the next pages, one client over all five years, one worker over all five
  years, one given day, one whole month — each asked of different clients, workers, days and months in turn,
  so the answers do not all come from the cache;
* the unit's CSV of one month, streamed: time, rows, bytes, time to the first byte, and how much the serving
  process grows meanwhile (VmRSS sampled from /proc and its high-water mark; goal: a few tens of MB, not
  proportional to the month);
* the whole municipality's month as the retention archive writes it (`flask access-log-archive`): time, rows
  and the process's peak memory.

    python -m tests.bench.bench_access_log                    # five years (needs ~105 GB of free disk)
    BENCH_QUICK=1 python -m tests.bench.bench_access_log      # 30 days, a few minutes
    BENCH_ACCESS_LOG_DAYS=365 python -m tests.bench.bench_access_log   # any other number of days

The database is dropped at the end, also on failure or SIGTERM. Before generating, the free disk is checked
against the estimated size (BYTES_PER_ROW, measured: heap and the seven indexes of each partition), and the
run refuses when it would leave less than BENCH_DISK_RESERVE_GB (default 15) free for everyone else.
"""
import gzip
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from tests.bench import access_log_data as data  # noqa: E402
from tests.bench.harness import BIN, PG_ADMIN_URL, REPO, children, gunicorn, instance, migrate, percentile, \
    pg_available, postgres_database  # noqa: E402
from tests.bench.report import Report, quick  # noqa: E402

GOAL_P95_MS = 150
GOAL_CSV_GROWTH_MB = 50
PER_DAY = int(os.environ.get("BENCH_ACCESS_LOG_PER_DAY", "150000"))
DAYS = int(os.environ.get("BENCH_ACCESS_LOG_DAYS") or (30 if quick() else 5 * 365))
REQUESTS = int(os.environ.get("BENCH_ACCESS_LOG_REQUESTS", "40"))  # per kind of question
BYTES_PER_ROW = 380  # on disk, heap and indexes (measured: see the figure db_bytes_per_row)
RESERVE_GB = float(os.environ.get("BENCH_DISK_RESERVE_GB", "15"))
UNIT = 7  # the reviewing manager's unit (any of the 30)


def disk_room(url):
    """(free bytes where PostgreSQL keeps its data, estimated bytes this run needs, the path looked at)."""
    path = "/"
    try:
        with psycopg.connect(data.libpq(url), autocommit=True) as conn:
            path = conn.execute("SHOW data_directory").fetchone()[0]
    except psycopg.Error:  # not a superuser: the root file system is the best guess on this machine
        pass
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free, DAYS * PER_DAY * BYTES_PER_ROW, path


class Client:
    """One keep-alive connection of the admin pages: logs in as they do, then GETs with the Bearer token."""

    def __init__(self, base):
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        self.token = None

    def login(self, username, password):
        body = json.dumps({"username": username, "password": password, "device_id": "web-bench-access-log",
                           "device_name": "Webbläsare (ledning)"})
        self.conn.request("POST", "/api/auth/token", body=body, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"login: {response.status} {answer[:300]!r}")
        self.token = json.loads(answer)["token"]

    def get(self, path):
        """(milliseconds, the JSON answer) of one GET."""
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}", "Accept-Encoding": "gzip"})
        response = self.conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
        return elapsed, gzip.decompress(body) if response.getheader("Content-Encoding") == "gzip" else body

    def close(self):
        self.conn.close()


def memory_kb(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Samples VmRSS of some processes every 20 ms in a thread; `peak_growth_mb()`: the most any one of them grew
    above its size at the start (the kernel's high-water mark VmHWM catches a peak between two samples)."""

    def __init__(self, pids):
        self.pids = list(pids)
        self.before = {p: memory_kb(p, "VmRSS") for p in self.pids}
        self.hwm_before = {p: memory_kb(p, "VmHWM") for p in self.pids}
        self.peak = dict(self.before)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(0.02):
            self.sample()

    def sample(self):
        for p in self.pids:
            self.peak[p] = max(self.peak[p], memory_kb(p, "VmRSS"))

    def finish(self):
        self.stop.set()
        self.thread.join()
        self.sample()
        for p in self.pids:
            hwm = memory_kb(p, "VmHWM")
            if hwm > self.hwm_before[p]:  # a new high-water mark was set during the watch
                self.peak[p] = max(self.peak[p], hwm)
        growth = {p: self.peak[p] - self.before[p] for p in self.pids}
        worst = max(growth, key=growth.get)
        return round(growth[worst] / 1024, 1), round(self.before[worst] / 1024, 1), round(self.peak[worst] / 1024, 1)


def questions(first_day, last_day, clients, workers):
    """{kind: [path, …]} — REQUESTS paths per kind, each kind asked of different people and periods in turn."""
    q = "/api/dashboard/access-log?"
    span = (last_day - first_day).days
    days = [first_day + timedelta(days=(i * 7919) % (span + 1)) for i in range(REQUESTS)]
    month_starts = sorted({d.replace(day=1) for d in (first_day + timedelta(days=i) for i in range(span + 1))})
    full_months = [m for m in month_starts if m >= first_day and (m + timedelta(days=31)).replace(day=1) <= last_day]
    months = full_months or month_starts

    def month(i):
        m = months[i % len(months)]
        return m, min((m + timedelta(days=31)).replace(day=1) - timedelta(days=1), last_day)

    whole = {"from": first_day.isoformat(), "to": last_day.isoformat()}
    return {
        "latest": [q] * REQUESTS,
        "next_pages": None,  # pages 2–11 of the latest, each after the last row of the one before (review())
        "client_all_years": [q + urlencode({"client_id": clients[(i * 37) % len(clients)], **whole})
                             for i in range(REQUESTS)],
        "user_all_years": [q + urlencode({"user_id": workers[(i * 13) % len(workers)], **whole})
                           for i in range(REQUESTS)],
        "day": [q + urlencode({"from": d.isoformat(), "to": d.isoformat()}) for d in days],
        "month": [q + urlencode({"from": month(i)[0].isoformat(), "to": month(i)[1].isoformat()})
                  for i in range(REQUESTS)],
    }, month


def review(report, client, paths):
    """Every kind's p50/p95 and the p95 over all of them."""
    everything = []
    for kind, kind_paths in paths.items():
        if kind_paths is None:  # the next pages, as the page's "more" button asks for them
            kind_paths, answer = [], {"next": None}
            for i in range(REQUESTS):
                if i % 10 == 0 or not answer["next"]:
                    answer = json.loads(client.get(paths["latest"][0])[1])
                kind_paths.append(paths["latest"][0] + "&" * bool(answer["next"]) + urlencode(answer["next"] or {}))
                answer = json.loads(client.get(kind_paths[-1])[1])
            # (walked once to learn the cursors; timed below like every other kind)
        client.get(kind_paths[0])  # one warm-up: the first answer of a kind pays for its plan
        samples, rows = [], []
        for path in kind_paths:
            ms, body = client.get(path)
            samples.append(ms)
            answer = json.loads(body)
            rows.append(answer["counts"]["total"])
        everything += samples
        detail = {"example": kind_paths[-1], "requests": len(samples), "max_ms": round(max(samples), 1),
                  "rows_counted_median": sorted(rows)[len(rows) // 2]}
        report.figure(f"review_{kind}_p50", f"review {kind} p50", round(percentile(samples, 50), 1), "ms",
                      better="lower", detail=detail)
        report.figure(f"review_{kind}_p95", f"review {kind} p95", round(percentile(samples, 95), 1), "ms",
                      goal=GOAL_P95_MS, better="lower", detail=detail)
    report.figure("review_p95", "review p95, every kind together", round(percentile(everything, 95), 1), "ms",
                  goal=GOAL_P95_MS, better="lower", detail={"requests": len(everything)})


def csv_export(report, client, server_pid, first, last):
    """The unit's CSV of one month, read as it streams, with the serving processes' memory watched."""
    path = "/api/dashboard/access-log.csv?" + urlencode({"from": first.isoformat(), "to": last.isoformat()})
    watch = MemoryWatch(children(server_pid))
    started = time.perf_counter()
    client.conn.request("GET", path, headers={"Authorization": f"Bearer {client.token}"})
    response = client.conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {response.read()[:300]!r}")
    first_byte, size, lines = None, 0, 0
    while chunk := response.read1(1 << 16):
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    growth, before, peak = watch.finish()
    rows = lines - 1  # the header
    detail = {"path": path, "rows": rows, "bytes": size, "first_byte_s": round(first_byte or total, 2),
              "rss_before_mb": before, "rss_peak_mb": peak}
    report.figure("csv_month_s", f"CSV of the unit's month ({first}–{last}), whole download", round(total, 1), "s",
                  better="lower", detail=detail)
    report.figure("csv_month_rows", "CSV of the unit's month: rows", rows, "rows", detail=detail)
    report.figure("csv_month_bytes", "CSV of the unit's month: bytes", size, "B", detail=detail)
    report.figure("csv_first_byte_s", "CSV of the unit's month: first byte after", round(first_byte or total, 2), "s",
                  better="lower", detail=detail)
    report.figure("csv_rss_growth", "CSV of the unit's month: the serving process grew by", growth, "MB",
                  goal=GOAL_CSV_GROWTH_MB, better="lower", detail=detail)
    report.note(f"CSV {first}–{last}: {rows:,} rows, {size / 2**20:.1f} MiB in {total:.1f} s, first byte after "
                f"{first_byte or total:.2f} s ({'streamed' if (first_byte or total) < total / 4 else 'NOT streamed'}); "
                f"server process {before:.0f} → peak {peak:.0f} MB")


def archive_month(report, env, month):
    """The whole municipality's month as the retention archive writes it, in a process of its own."""
    out = Path(tempfile.mkdtemp(prefix="hv_bench_archive_")) / "month.csv"
    try:
        started = time.perf_counter()
        proc = subprocess.Popen([str(BIN / "flask"), "--app", "server", "access-log-archive", f"{month:%Y-%m}",
                                 "--out", str(out)], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, memory_kb(proc.pid, "VmHWM"))
            time.sleep(0.05)
        err = proc.stderr.read()
        if proc.returncode:
            raise RuntimeError(f"access-log-archive: exit {proc.returncode}: {err[-500:]}")
        total = time.perf_counter() - started
        with open(out, "rb") as fh:
            rows = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b"")) - 1
        detail = {"month": f"{month:%Y-%m}", "rows": rows, "bytes": out.stat().st_size,
                  "peak_rss_mb": round(peak / 1024, 1)}
        report.figure("archive_month_s", f"archive of the whole {month:%Y-%m} (every unit)", round(total, 1), "s",
                      better="lower", detail=detail)
        report.figure("archive_month_rows", "archive of the whole month: rows", rows, "rows", detail=detail)
        report.figure("archive_peak_rss", "archive of the whole month: the process's peak memory",
                      round(peak / 1024, 1), "MB", better="lower", detail=detail)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def main():
    report = Report("access_log")
    if not pg_available():
        report.note("PostgreSQL is not reachable (BENCH_PG_URL); nothing measured.")
        report.save()
        return
    free, needed, where = disk_room(PG_ADMIN_URL)
    if free - needed < RESERVE_GB * 2**30:
        message = (f"Not enough disk for {DAYS} days × {PER_DAY:,} rows: about {needed / 2**30:.0f} GB needed, "
                   f"{free / 2**30:.0f} GB free at {where}, and {RESERVE_GB:.0f} GB must stay free "
                   f"(BENCH_DISK_RESERVE_GB). Use BENCH_ACCESS_LOG_DAYS=… for fewer days; nothing generated.")
        print(message, flush=True)
        report.note(message)
        report.save()
        sys.exit(2)
    print(f"{DAYS} days × {PER_DAY:,} rows a day: about {needed / 2**30:.1f} GB of {free / 2**30:.0f} GB free "
          f"at {where}", flush=True)
    with postgres_database("hv_bench_alog") as url, instance(url) as env:
        migrate(env)
        with psycopg.connect(data.libpq(url)) as conn:
            data.seed_people(conn, generate_password_hash(data.MANAGER_PASSWORD))
        made = data.generate(url, DAYS, PER_DAY)
        with psycopg.connect(data.libpq(url), autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            clients = [r[0] for r in conn.execute("SELECT id FROM clients WHERE unit_id = %s ORDER BY id", (UNIT,))]
            workers = [r[0] for r in conn.execute(
                "SELECT id FROM users WHERE unit_id = %s AND role = 'worker' ORDER BY id", (UNIT,))]
        scale = {"days": DAYS, "rows_per_day": PER_DAY, "months": made["months"], "units": data.UNITS,
                 "workers": data.WORKERS, "clients": data.UNITS * data.CLIENTS_PER_UNIT}
        report.figure("rows", "access-log rows generated", made["rows"], "rows", detail=scale)
        report.figure("generate_s", "generation: INSERT … SELECT generate_series, attach, VACUUM ANALYZE",
                      round(made["seconds"], 1), "s", better="lower",
                      detail={"rows_per_s": round(made["rows"] / made["seconds"]), "sessions": 2})
        report.figure("db_size_gb", "database size on disk", round(size / 2**30, 2), "GB", better="lower",
                      detail={"bytes": size})
        report.figure("db_bytes_per_row", "database bytes per access-log row", round(size / max(made["rows"], 1)),
                      "B", better="lower")
        first_day = made["start"].date()
        last_day = (made["start"] + timedelta(days=DAYS - 1)).date()
        paths, month = questions(first_day, last_day, clients, workers)
        user_id, username = data.manager(UNIT)
        with gunicorn(env) as (base, proc):
            client = Client(base)
            try:
                client.login(username, data.MANAGER_PASSWORD)
                review(report, client, paths)
                csv_export(report, client, proc.pid, *month(0))
            finally:
                client.close()
        report.note(f"{made['rows']:,} rows over {DAYS} days ({first_day}–{last_day}) in {made['months']} month "
                    f"partitions, {size / 2**30:.1f} GB; the manager of unit {UNIT} of {data.UNITS} "
                    f"({len(clients)} clients, {len(workers)} workers); {REQUESTS} requests per kind, keep-alive")
        archive_month(report, env, month(0)[0])
    path = report.save()
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
