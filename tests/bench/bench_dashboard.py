"""Benchmark: the managers' dashboard endpoints on PostgreSQL with 500,000 events and 2,000 phones.

Prints p50/p95 per endpoint (one client, keep-alive, the real server under gunicorn) and writes them to
tests/bench/results/dashboard.json. The issue's goal is p95 under 150 ms on this 2-core machine; a missed
goal is reported, never asserted (timings on shared machines are noisy).

    python tests/bench/bench_dashboard.py          # the issue's sizes
    BENCH_QUICK=1 python tests/bench/bench_dashboard.py   # a tenth, for a fast look
"""
import http.client
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.dashboard_data import Sizes, generate  # noqa: E402
from tests.bench.harness import app_context, gunicorn, instance, migrate, percentile, pg_available, \
    postgres_database  # noqa: E402
from tests.bench.report import Report, quick  # noqa: E402

GOAL_P95_MS = 150
REQUESTS = int(os.environ.get("BENCH_DASHBOARD_REQUESTS", "150"))
WARMUP = 5


def timed_get(conn, path, token):
    started = time.perf_counter()
    headers = {"Accept-Encoding": "gzip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
    return elapsed, len(body)


def measure(base, token, path, n=REQUESTS):
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        for _ in range(WARMUP):
            timed_get(conn, path, token)
        samples, size = [], 0
        for _ in range(n):
            ms, size = timed_get(conn, path, token)
            samples.append(ms)
        return samples, size
    finally:
        conn.close()


def main():
    report = Report("dashboard")
    if not pg_available():
        report.note("PostgreSQL is not reachable (BENCH_PG_URL); nothing measured.")
        report.save()
        return
    sizes = Sizes(quick())
    with postgres_database("hv_bench_dash") as url, instance(url) as env:
        migrate(env)
        with app_context(env):
            from server.auth import issue_token
            from server.extensions import db
            from server.models import Client, Device, User
            started = time.perf_counter()
            info = generate(db.session, sizes)
            report.figure("generate_s", "data generation (events, phones, access log …)",
                          round(time.perf_counter() - started, 1), "s", better="lower",
                          detail={k: v for k, v in info.items() if k not in ("now", "managers")})
            unit = 1
            manager = db.session.get(User, info["managers"][unit])
            token = issue_token(manager, db.session.get(Device, f"web-bench-manager-{unit:03d}"))
            client_id = db.session.query(Client.id).filter(Client.unit_id == unit).order_by(Client.id).first()[0]
            worker_id = db.session.query(User.id).filter(User.unit_id == unit, User.role == "worker") \
                .order_by(User.id).first()[0]
        report.note(f"{info['events']:,} events, {info['devices']:,} phones in {info['units']} units, "
                    f"{info['access_rows']:,} access-log rows, {info['registrations']:,} registrations; "
                    f"the viewer manages one unit of {info['devices'] // info['units']} phones; "
                    f"{REQUESTS} sequential requests per endpoint after {WARMUP} warm-up, keep-alive, gzip")
        endpoints = [
            ("backlog", "/api/dashboard/backlog", GOAL_P95_MS),
            ("trends", "/api/dashboard/trends", GOAL_P95_MS),
            ("readiness", "/api/dashboard/readiness", GOAL_P95_MS),
            ("access_log", "/api/dashboard/access-log", GOAL_P95_MS),
            ("access_log_client", f"/api/dashboard/access-log?client_id={client_id}", GOAL_P95_MS),
            ("access_log_user", f"/api/dashboard/access-log?user_id={worker_id}", GOAL_P95_MS),
            ("access_checks", "/api/dashboard/access-checks", GOAL_P95_MS),
            ("registrations_csv_week", "/api/dashboard/registrations.csv", None),
            ("access_log_csv_week", "/api/dashboard/access-log.csv", None),
        ]
        with gunicorn(env) as (base, _):
            # The floor: the cheapest answer this server gives (one SELECT 1), measured in the same run, so a
            # loaded machine shows up as a high floor rather than as a slow dashboard.
            floor_samples, _ = measure(base, None, "/healthz")
            floor = round(percentile(floor_samples, 95), 1)
            report.figure("floor_healthz_p95", "floor: /healthz p95", floor, "ms", better="lower")
            for key, path, goal in endpoints:
                n = REQUESTS if goal else max(10, REQUESTS // 4)
                samples, size = measure(base, token, path, n)
                detail = {"path": path, "requests": n, "bytes": size, "max_ms": round(max(samples), 1)}
                report.figure(f"{key}_p50", f"{key} p50", round(percentile(samples, 50), 1), "ms", better="lower",
                              detail=detail)
                report.figure(f"{key}_p95", f"{key} p95", round(percentile(samples, 95), 1), "ms", goal=goal,
                              better="lower", floor=floor, detail=detail)
    path = report.save()
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
