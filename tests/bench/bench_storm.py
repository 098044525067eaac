"""Reconnect storm: the end of a municipality-wide outage. 1,000 phones, each holding a 10-hour backlog of
~40 sealed events, come back within one minute and drain their outboxes against gunicorn on PostgreSQL.

Each phone behaves like the PWA's sender: one push of its backlog (≤ 100 per request) with the push
token; on a network error or a 5xx it resends the same events after an exponential backoff with jitter.
Two shapes are run: reconnects spread over the minute (what the issue describes) and a thundering herd
(every phone in the same second, the worst case). Afterwards the log is counted: every event once.
"""
import asyncio
import json
import random
import sys
import time
from datetime import datetime, timezone

import aiohttp
from sqlalchemy import func, select

from tests.bench import harness, municipality
from tests.bench.report import Report, quick

PHONES = 200 if quick() else 1000
EVENTS_PER_PHONE = 40
SPREAD_SECONDS = 15 if quick() else 60
GOAL_DRAIN_S = 30
MAX_ATTEMPTS = 10


async def phone_session(http, base, phone, body, at, clock0, stats):
    await asyncio.sleep(max(0.0, at - (time.perf_counter() - clock0)))
    began = time.perf_counter()
    body, headers = body  # Phone.push_request: as the PWA sends it
    for attempt in range(1, MAX_ATTEMPTS + 1):
        t = time.perf_counter()
        try:
            async with http.post(base + "/api/sync/push", data=body, headers=headers) as response:
                answer = await response.read()
                stats["latencies"].append(time.perf_counter() - t)
                if response.status == 200:
                    for r in json.loads(answer)["results"]:
                        stats["statuses"][r["status"]] = stats["statuses"].get(r["status"], 0) + 1
                    done = time.perf_counter()
                    stats["drained_at"].append(done - clock0)
                    stats["time_to_drain"].append(done - began)
                    return
                stats["errors"].append(f"HTTP {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            stats["errors"].append(type(exc).__name__)
        stats["retries"] += 1
        await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt) * random.uniform(0.5, 1.5))
    stats["gave_up"] += 1


async def storm(base, plan, spread):
    """Run every phone's reconnect; `plan` is [(phone, body bytes)], reconnect times uniform in `spread` s."""
    stats = {"latencies": [], "statuses": {}, "drained_at": [], "time_to_drain": [], "errors": [], "retries": 0,
             "gave_up": 0}
    rng = random.Random(40)
    times = sorted(rng.uniform(0, spread) for _ in plan)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=180)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        clock0 = time.perf_counter()
        await asyncio.gather(*(phone_session(http, base, phone, body, at, clock0, stats)
                               for (phone, body), at in zip(plan, times)))
    stats["last_reconnect"] = times[-1] if times else 0.0
    return stats


def count_log(env):
    with harness.app_context(env):
        from server.extensions import db
        from server.models import Event
        return (db.session.scalar(select(func.count()).select_from(Event)),
                db.session.scalar(select(func.count(func.distinct(Event.id)))))


def main():
    report = Report("storm")
    if not harness.pg_available():
        report.note(f"PostgreSQL is not reachable (BENCH_PG_URL): storm skipped ({harness.PG_PROBLEM}).")
        report.save()
        return
    with harness.postgres_database() as url, harness.instance(url) as env:
        harness.migrate(env)
        with harness.app_context(env) as app:
            phones = municipality.build(PHONES)
            key = app.extensions["outbox_key"].public_key()
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        shapes = {}
        for shape, spread in (("spread", SPREAD_SECONDS), ("herd", 1.0)):
            shapes[shape] = ([(p, p.push_request(p.shift_events(EVENTS_PER_PHONE, now), key, now))
                              for p in phones], spread)
        print(f"Sealed {2 * PHONES * EVENTS_PER_PHONE:,} events for {PHONES} phones in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        expected = 0
        with harness.gunicorn(env) as (base, _):
            for shape, (plan, spread) in shapes.items():
                t = time.perf_counter()
                stats = asyncio.run(storm(base, plan, spread))
                wall = time.perf_counter() - t
                expected += PHONES * EVENTS_PER_PHONE
                stored, distinct = count_log(env)
                drained_all = max(stats["drained_at"]) if stats["drained_at"] else None
                lag = drained_all - stats["last_reconnect"] if drained_all is not None else None
                p99 = harness.percentile(stats["latencies"], 99)
                print(f"  {shape}: drained in {drained_all:.1f} s (last reconnect at {stats['last_reconnect']:.1f} s),"
                      f" wall {wall:.1f} s, {stats['statuses']}, errors {len(stats['errors'])}", flush=True)
                label = (f"{PHONES} phones × {EVENTS_PER_PHONE} events, reconnects over {spread:.0f} s"
                         if shape == "spread" else f"{PHONES} phones × {EVENTS_PER_PHONE} events, all in the same second")
                detail = (f"{label}; {stats['statuses']}; retries {stats['retries']}; gave up {stats['gave_up']}; "
                          f"throughput {PHONES * EVENTS_PER_PHONE / drained_all:,.0f} events/s")
                if shape == "spread":
                    report.figure("storm_spread_time_to_drain_max", "Storm over a minute: slowest phone's time to drain",
                                  round(max(stats["time_to_drain"]), 2), "s", goal=GOAL_DRAIN_S, better="lower",
                                  detail=detail)
                    report.figure("storm_spread_lag", "Storm over a minute: all drained, seconds after the last "
                                  "reconnect", round(lag, 2), "s", better="lower",
                                  detail=f"everything drained {drained_all:.1f} s after the first reconnect")
                else:
                    report.figure("storm_herd_drain", "Thundering herd: time until every outbox is drained",
                                  round(drained_all, 2), "s", goal=GOAL_DRAIN_S, better="lower", detail=detail)
                report.figure(f"storm_{shape}_p99", f"Storm ({shape}): push latency p99", round(p99 * 1000), "ms",
                              better="lower", detail=f"p50 {harness.percentile(stats['latencies'], 50) * 1000:.0f} ms, "
                                                     f"p95 {harness.percentile(stats['latencies'], 95) * 1000:.0f} ms")
                report.figure(f"storm_{shape}_errors", f"Storm ({shape}): failed requests (retried)",
                              len(stats["errors"]), "requests", goal=0, better="lower",
                              detail=", ".join(sorted(set(stats["errors"]))[:5]) or None)
                report.figure(f"storm_{shape}_duplicates", f"Storm ({shape}): events stored more than once",
                              stored - distinct, "events", goal=0, better="lower",
                              detail=f"stored {stored:,}, distinct ids {distinct:,}, expected {expected:,}"
                                     f"{'' if distinct == expected else ' — MISSING EVENTS'}")
    report.save()


if __name__ == "__main__":
    sys.exit(main())
