"""Sync ingest side by side: our push (gunicorn, 2 workers) on PostgreSQL and SQLite, pouchdb-server
`_bulk_docs` with the same records, and a plain multi-row INSERT into the same PostgreSQL — batches of 1/10/100.

Our requests carry sealed events with the push token, exactly as the PWA sends them; the peer and the floor
get the same records in plain form. Every run uses the same four client threads on keep-alive connections.
"""
import json
import sys
from datetime import datetime, timezone

from sqlalchemy import func, select

from tests.bench import harness, municipality, peers
from tests.bench.load import Request, run
from tests.bench.report import Report, quick

BATCHES = (1, 10, 100)
REQUESTS = {1: 300, 10: 80, 100: 20} if quick() else {1: 2000, 10: 500, 100: 100}
THREADS = 4
PHONES = 200
GOAL_EVENTS_PER_S = 3000  # on PostgreSQL, batch 100 (the phones send up to 100 per request)


def plan(phones):
    """The logical batches of this run: (phone, events) per request, the same for every target."""
    now = datetime.now(timezone.utc)
    out = {}
    for batch in BATCHES:
        out[batch] = [(phones[i % len(phones)], phones[i % len(phones)].shift_events(batch, now))
                      for i in range(REQUESTS[batch])]
    return out


def our_requests(batches, phones_here, public_key):
    by_device = {p.device_id: p for p in phones_here}
    out = []
    for phone, events in batches:
        here = by_device[phone.device_id]
        body, headers = municipality.wire(here.body(events, public_key))  # sealed v2, gzipped: as the PWA sends
        out.append(Request("/api/sync/push", body, dict(headers, Authorization=f"Bearer {here.push_token}"),
                           len(events)))
    return out


def check_answers(result):
    statuses = {}
    for body in result.answers:
        for r in json.loads(body)["results"]:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return statuses


class CpuMeter:
    """CPU seconds the serving processes spend during one run: a figure the other load on a shared machine
    barely moves (unlike wall-clock throughput). Processes born during the run count from zero."""

    def __init__(self, pids):
        self.pids = pids
        self.before = {pid: harness.cpu_seconds([pid]) for pid in pids()}

    def stop(self):
        return sum(harness.cpu_seconds([pid]) - self.before.get(pid, 0.0) for pid in self.pids())


def cpu_us_per_event(result):
    cpu = getattr(result, "cpu_seconds", None)
    return round(cpu / result.events * 1e6) if cpu and result.events else None


def capacity(result, cores=2):
    """Events/s the serving processes could sustain on `cores` idle cores at the measured CPU cost."""
    us = cpu_us_per_event(result)
    return round(cores * 1e6 / us) if us else None


def latency_ms(result, p):
    return round(harness.percentile(result.latencies, p) * 1000, 1) if result.latencies else None


def seed(env):
    """Migrate and seed the bench municipality; returns its phones and the server's outbox public key."""
    harness.migrate(env)
    with harness.app_context(env) as app:
        return municipality.build(PHONES), app.extensions["outbox_key"].public_key()


def measure_ours(engine, env, batches_by_size, phones_here, public_key):
    """Serve with gunicorn and push every planned batch; then count what the log holds."""
    results = {}
    url = env["DATABASE_URL"]
    with harness.gunicorn(env) as (base, master):
        now = datetime.now(timezone.utc)
        run(base, our_requests([(p, p.shift_events(2, now)) for p in phones_here[:8]], phones_here, public_key),
            THREADS)
        for batch, batches in batches_by_size.items():
            reqs = our_requests(batches, phones_here, public_key)
            meter = CpuMeter(lambda: harness.children(master.pid)
                             + (harness.postgres_backends(url) if url.startswith("postgresql") else []))
            result = run(base, reqs, THREADS, keep_answers=True)
            result.cpu_seconds = meter.stop()
            result.statuses = check_answers(result)
            results[batch] = result
            print(f"  ours/{engine} batch {batch}: {result.events_per_second:,.0f} events/s, "
                  f"p99 {latency_ms(result, 99)} ms, {result.statuses}, errors {len(result.errors)}", flush=True)
    with harness.app_context(env):
        from server.extensions import db
        from server.models import Event
        stored = db.session.scalar(select(func.count()).select_from(Event))
        distinct = db.session.scalar(select(func.count(func.distinct(Event.id))))
    return results, stored, distinct


def main():
    report = Report("ingest")
    if not harness.pg_available():
        report.note(f"PostgreSQL is not reachable (BENCH_PG_URL): ingest figures skipped ({harness.PG_PROBLEM}).")
        report.save()
        return
    with harness.postgres_database() as pg_url, harness.instance(pg_url) as pg_env, \
            harness.instance() as sqlite_env:
        phones, pg_key = seed(pg_env)
        batches_by_size = plan(phones)
        planned_events = sum(len(ev) for bs in batches_by_size.values() for _, ev in bs)
        print(f"Planned {planned_events:,} events per target ({REQUESTS}), {THREADS} client threads", flush=True)
        pg, pg_stored, pg_distinct = measure_ours("postgresql", pg_env, batches_by_size, phones, pg_key)
        floor = {}
        peers.create_floor_table(pg_url)
        unit_of = lambda phone: (phone.user_id - 1) // municipality.WORKERS_PER_UNIT + 1  # noqa: E731
        for batch, batches in batches_by_size.items():
            floor[batch] = peers.run_floor(pg_url, peers.floor_rows(batches, unit_of), THREADS)
            print(f"  floor batch {batch}: {floor[batch].events_per_second:,.0f} rows/s", flush=True)
        lite_phones, lite_key = seed(sqlite_env)
        lite, lite_stored, lite_distinct = measure_ours("sqlite", sqlite_env, batches_by_size, lite_phones, lite_key)

        peer = {}
        if peers.pouchdb_installed():
            with peers.pouchdb_server() as (pbase, node):
                run(pbase, peers.pouch_requests([(p, p.shift_events(2, datetime.now(timezone.utc)))
                                                 for p in phones[:8]]), THREADS)
                for batch, batches in batches_by_size.items():
                    meter = CpuMeter(lambda: [node.pid] + harness.children(node.pid))
                    peer[batch] = run(pbase, peers.pouch_requests(batches), THREADS)
                    peer[batch].cpu_seconds = meter.stop()
                    print(f"  pouchdb-server batch {batch}: {peer[batch].events_per_second:,.0f} docs/s, "
                          f"errors {len(peer[batch].errors)}", flush=True)
        else:
            report.note("pouchdb-server is not installed (make bench installs it into tests/bench/node).")

    for batch in BATCHES:
        p = peer.get(batch)
        f = floor[batch]
        r = pg[batch]
        report.figure(f"ingest_pg_b{batch}", f"Ingest PostgreSQL, batch {batch}", round(r.events_per_second),
                      "events/s", goal=GOAL_EVENTS_PER_S if batch == 100 else None,
                      peer=p.events_per_second if p else None, floor=f.events_per_second,
                      ratio_goals={"peer": 1.0, "floor": 0.3},
                      detail=f"p50/p95/p99 {latency_ms(r, 50)}/{latency_ms(r, 95)}/{latency_ms(r, 99)} ms; "
                             f"{r.statuses}; errors {len(r.errors)}")
        report.figure(f"ingest_pg_b{batch}_p99", f"Push latency p99 PostgreSQL, batch {batch}", latency_ms(r, 99),
                      "ms", better="lower", peer=latency_ms(p, 99) if p else None,
                      detail=f"p50 {latency_ms(r, 50)} ms, p95 {latency_ms(r, 95)} ms")
        s = lite[batch]
        report.figure(f"ingest_sqlite_b{batch}", f"Ingest SQLite, batch {batch}", round(s.events_per_second),
                      "events/s", peer=p.events_per_second if p else None, ratio_goals={"peer": 1.0},
                      detail=f"p50/p95/p99 {latency_ms(s, 50)}/{latency_ms(s, 95)}/{latency_ms(s, 99)} ms; "
                             f"{s.statuses}; errors {len(s.errors)}")
        if p:
            report.figure(f"peer_b{batch}", f"pouchdb-server _bulk_docs, batch {batch}", round(p.events_per_second),
                          "docs/s", detail=f"p50/p95/p99 {latency_ms(p, 50)}/{latency_ms(p, 95)}/{latency_ms(p, 99)}"
                                           f" ms; errors {len(p.errors)}")
        report.figure(f"floor_b{batch}", f"Plain multi-row INSERT (PostgreSQL), batch {batch}",
                      round(f.events_per_second), "rows/s",
                      detail=f"one COMMIT per batch; p99 {latency_ms(f, 99)} ms")
        report.figure(f"cpu_pg_b{batch}", f"CPU cost per event, ours on PostgreSQL, batch {batch}",
                      cpu_us_per_event(r), "µs", better="lower",
                      peer=cpu_us_per_event(p) if p else None, floor=cpu_us_per_event(f),
                      detail=f"gunicorn workers + PostgreSQL backends; at this cost 2 idle cores would take "
                             f"{capacity(r) or 0:,} events/s (peer {capacity(p) if p else '–'}, "
                             f"floor {capacity(f) or 0:,}; SQLite {capacity(s) or 0:,}, "
                             f"{cpu_us_per_event(s)} µs/event)")
    sent = sum(r.events for r in pg.values()) + 16
    report.figure("ingest_pg_exactly_once", "PostgreSQL: events stored / distinct ids / sent", pg_stored, "rows",
                  detail=f"distinct {pg_distinct}, sent {sent}")
    report.figure("ingest_sqlite_exactly_once", "SQLite: events stored / distinct ids / sent", lite_stored, "rows",
                  detail=f"distinct {lite_distinct}, sent {sum(r.events for r in lite.values()) + 16}")
    report.save()


if __name__ == "__main__":
    sys.exit(main())
