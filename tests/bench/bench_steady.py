"""Steady load of a 3,000-worker municipality on an ordinary day: about 20 pushes a second of 1–5 sealed records
each (records, status reports and reconnects together), arriving at a steady pace against gunicorn on
PostgreSQL. The figure is the push latency a phone sees at the 99th percentile (goal ≤ 100 ms).

An open loop: each push is sent at its planned moment whether or not earlier ones have been answered, as phones
do — a slow server shows up as latency, not as a slower schedule.
"""
import asyncio
import random
import sys
import time
from datetime import datetime, timezone

import aiohttp

from tests.bench import harness, municipality
from tests.bench.bench_storm import phone_session
from tests.bench.report import Report, quick

RATE = 20  # pushes a second
SECONDS = 20 if quick() else 60
GOAL_P99_MS = 100


async def steady(base, plan):
    stats = {"latencies": [], "statuses": {}, "drained_at": [], "time_to_drain": [], "errors": [], "retries": 0,
             "gave_up": 0}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=60)) as http:
        clock0 = time.perf_counter()
        await asyncio.gather(*(phone_session(http, base, phone, body, i / RATE, clock0, stats)
                               for i, (phone, body) in enumerate(plan)))
    return stats


def main():
    report = Report("steady")
    if not harness.pg_available():
        report.note(f"PostgreSQL is not reachable (BENCH_PG_URL): steady load skipped ({harness.PG_PROBLEM}).")
        report.save()
        return
    pushes = RATE * SECONDS
    rng = random.Random(20)
    with harness.postgres_database() as url, harness.instance(url) as env:
        harness.migrate(env)
        with harness.app_context(env) as app:
            phones = municipality.build(pushes)  # one push a phone: every push its own worker and records
            key = app.extensions["outbox_key"].public_key()
        now = datetime.now(timezone.utc)
        plan = [(p, p.push_request(p.shift_events(rng.randint(1, 5), now), key, now)) for p in phones]
        with harness.gunicorn(env) as (base, _):
            stats = asyncio.run(steady(base, plan))
        p50, p95, p99 = (harness.percentile(stats["latencies"], q) * 1000 for q in (50, 95, 99))
        print(f"  steady: {pushes} pushes at {RATE}/s: p50/p95/p99 {p50:.0f}/{p95:.0f}/{p99:.0f} ms, "
              f"{stats['statuses']}, errors {len(stats['errors'])}", flush=True)
        report.figure("steady_p99", f"Steady load ({RATE} pushes/s of 1–5 records): push latency p99", round(p99),
                      "ms", goal=GOAL_P99_MS, better="lower",
                      detail=f"p50 {p50:.0f} ms, p95 {p95:.0f} ms; {pushes} pushes over {SECONDS} s; "
                             f"{stats['statuses']}; errors {len(stats['errors'])}")
    report.save()


if __name__ == "__main__":
    sys.exit(main())
