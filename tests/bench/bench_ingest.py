"""Sync ingest side by side: our push (gunicorn, 2 workers) on PostgreSQL and SQLite, pouchdb-server
`_bulk_docs` with the same records, and a plain multi-row INSERT into the same PostgreSQL — batches of 1/10/100.

Our requests carry sealed events with the push token, exactly as the PWA sends them; the peer and the floor
get the same records in plain form. Every run uses the same four client threads on keep-alive connections.
"""
import json
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone

from sqlalchemy import func, select

from tests.bench import harness, municipality, peers
from tests.bench.load import LoadResult, Request, run
from tests.bench.report import Report, quick

BATCHES = (1, 10, 40, 100)
REQUESTS = {1: 300, 10: 80, 40: 40, 100: 20} if quick() else {1: 2000, 10: 500, 40: 200, 100: 100}
# Each target's requests of one batch size go in slices, the targets taking turns (take_turns): a shared
# machine's load comes and goes within seconds, and measured one after the other the targets met different
# weather (the peer's own rate at batch 100 moved by more than a third between two runs).
SLICES = 3
THREADS = 4
PHONES = 200


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
        out.append(Request("/api/sync/push", *here.push_request(events, public_key), len(events)))
    return out


def check_answers(result):
    statuses = {}
    for body in result.answers:
        for r in json.loads(body)["results"]:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return statuses


class CpuMeter:
    """CPU seconds each group of serving processes spends during one slice (a figure the other load on a shared
    machine barely moves, unlike wall-clock throughput), the load client's own (this process: its threads
    are the only ones busy during a slice), and how many of the machine's clock ticks passed and were idle.
    Processes born during the slice count from zero."""

    def __init__(self, groups):
        self.groups = groups  # {name: () -> pids}
        self.before = {name: {pid: harness.cpu_seconds([pid]) for pid in pids()} for name, pids in groups.items()}
        self.client = time.process_time()
        self.machine = harness.machine_cpu()

    def stop(self, result):
        """Set the slice's `cpu_split` ({group: s, "client": s}) and `machine` ({"all", "idle"} ticks); returns
        the serving processes' seconds."""
        split = {name: sum(harness.cpu_seconds([pid]) - self.before[name].get(pid, 0.0) for pid in pids())
                 for name, pids in self.groups.items()}
        served = sum(split.values())
        split["client"] = time.process_time() - self.client
        ticks, idle = harness.machine_cpu()
        result.cpu_split = split
        result.machine = {"all": ticks - self.machine[0], "idle": idle - self.machine[1]}
        return served


def cpu_us_per_event(result):
    cpu = getattr(result, "cpu_seconds", None)
    return round(cpu / result.events * 1e6) if cpu and result.events else None


def capacity(result, cores=2):
    """Events/s the serving processes could sustain on `cores` idle cores at the measured CPU cost."""
    us = cpu_us_per_event(result)
    return round(cores * 1e6 / us) if us else None


def idle_share(result):
    machine = getattr(result, "machine", None)
    return machine["idle"] / machine["all"] if machine and machine["all"] else None


def split_per_request(result):
    """'workers 965 / PostgreSQL 340 / client 137 µs per request; cores idle 21 %' for one target."""
    split = getattr(result, "cpu_split", None)
    if not split or not result.requests:
        return ""
    parts = " / ".join(f"{name} {seconds / result.requests * 1e6:,.0f}" for name, seconds in split.items())
    idle = idle_share(result)
    return f"{parts} µs per request" + (f"; cores idle {idle:.0%}" if idle is not None else "")


def floor_budget(ours, floor, batch, goal=0.3, cores=2):
    """CPU per request (every process of ours, the load client included) that would give `goal` × the floor's
    rate, with the cores as busy as they were for ours in this run — and with none idle."""
    split = getattr(ours, "cpu_split", None)
    idle = idle_share(ours)
    if not split or idle is None or not floor.events_per_second:
        return None, None
    requests_per_s = goal * floor.events_per_second / batch
    return round(cores * (1 - idle) * 1e6 / requests_per_s), round(cores * 1e6 / requests_per_s)


def latency_ms(result, p):
    return round(harness.percentile(result.latencies, p) * 1000, 1) if result.latencies else None


def seed(env):
    """Migrate and seed the bench municipality; returns its phones and the server's outbox public key."""
    harness.migrate(env)
    with harness.app_context(env) as app:
        return municipality.build(PHONES), app.extensions["outbox_key"].public_key()


def in_slices(items, n=SLICES):
    """`items` in n contiguous parts, as even as they can be."""
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (i < extra)
        out.append(items[start:end])
        start = end
    return out


class Target:
    """One side of the comparison: what it is sent per batch size (in slices) and how one slice is measured."""

    def __init__(self, name, work, measure):
        self.name, self.work, self.measure = name, work, measure
        self.parts = {batch: [] for batch in work}

    def result(self, batch):
        return LoadResult.combine(self.parts[batch])


def metered(base, groups, keep_answers=False):
    """Measure one slice: the requests sent to `base`, and the CPU the processes of `groups` spend on them."""
    def measure(reqs):
        meter = CpuMeter(groups)
        result = run(base, reqs, THREADS, keep_answers=keep_answers)
        result.cpu_seconds = meter.stop(result)
        return result
    return measure


def ours(name, base, master, url, work):
    """Our server under gunicorn; CPU: its workers and, on PostgreSQL, their backends."""
    groups = {"workers": lambda: harness.children(master.pid)}
    if url.startswith("postgresql"):
        groups["PostgreSQL"] = lambda: harness.postgres_backends(url)
    return Target(name, work, metered(base, groups, keep_answers=True))


def peer_target(base, node, work):
    return Target("peer", work, metered(base, {"node": lambda: [node.pid] + harness.children(node.pid)}))


def floor_target(url, work):
    """The floor's CPU: its PostgreSQL backends (counted by run_floor from their first insert) and its client."""
    def measure(rows):
        meter = CpuMeter({})
        result = peers.run_floor(url, rows, THREADS)
        meter.stop(result)
        result.cpu_split = {"PostgreSQL": result.cpu_seconds, "client": result.cpu_split["client"]}
        return result
    return Target("floor", work, measure)


def take_turns(targets):
    """Every target's batches of one size, slice by slice, the targets taking turns (the first to go moves on
    by one each slice), so that the load a shared machine carries at any moment falls on all of them alike."""
    for batch in BATCHES:
        for k in range(SLICES):
            for t in targets[k % len(targets):] + targets[:k % len(targets)]:
                t.parts[batch].append(t.measure(t.work[batch][k]))
        print(f"  batch {batch}: " + ", ".join(f"{t.name} {t.result(batch).events_per_second:,.0f}/s"
                                              for t in targets), flush=True)


def stored_events(env):
    with harness.app_context(env):
        from server.extensions import db
        from server.models import Event
        return (db.session.scalar(select(func.count()).select_from(Event)),
                db.session.scalar(select(func.count(func.distinct(Event.id)))))


def main():
    report = Report("ingest")
    if not harness.pg_available():
        report.note(f"PostgreSQL is not reachable (BENCH_PG_URL): ingest figures skipped ({harness.PG_PROBLEM}).")
        report.save()
        return
    speed_before = harness.python_speed()
    with harness.postgres_database() as pg_url, harness.instance(pg_url) as pg_env, \
            harness.instance() as sqlite_env, ExitStack() as servers:
        phones, pg_key = seed(pg_env)
        lite_phones, lite_key = seed(sqlite_env)
        batches_by_size = plan(phones)
        planned_events = sum(len(ev) for bs in batches_by_size.values() for _, ev in bs)
        print(f"Planned {planned_events:,} events per target ({REQUESTS}), {THREADS} client threads, "
              f"{SLICES} slices per batch size, the targets taking turns", flush=True)
        peers.create_floor_table(pg_url)
        unit_of = lambda phone: (phone.user_id - 1) // municipality.WORKERS_PER_UNIT + 1  # noqa: E731

        def work(build):
            return {batch: in_slices(build(batches)) for batch, batches in batches_by_size.items()}

        pg_base, pg_master = servers.enter_context(harness.gunicorn(pg_env))
        lite_base, lite_master = servers.enter_context(harness.gunicorn(sqlite_env))
        now = datetime.now(timezone.utc)
        warm = [(p, p.shift_events(2, now)) for p in phones[:8]]
        run(pg_base, our_requests(warm, phones, pg_key), THREADS)
        run(lite_base, our_requests(warm, lite_phones, lite_key), THREADS)
        targets = [ours("pg", pg_base, pg_master, pg_url, work(lambda b: our_requests(b, phones, pg_key))),
                   floor_target(pg_url, work(lambda b: peers.floor_rows(b, unit_of))),
                   ours("sqlite", lite_base, lite_master, sqlite_env["DATABASE_URL"],
                        work(lambda b: our_requests(b, lite_phones, lite_key)))]
        if peers.pouchdb_installed():
            pbase, node = servers.enter_context(peers.pouchdb_server())
            run(pbase, peers.pouch_requests(warm), THREADS)
            targets.append(peer_target(pbase, node, work(peers.pouch_requests)))
        else:
            report.note("pouchdb-server is not installed (make bench installs it into tests/bench/node).")
        take_turns(targets)
        servers.close()
        by_name = {t.name: t for t in targets}
        pg = {batch: by_name["pg"].result(batch) for batch in BATCHES}
        lite = {batch: by_name["sqlite"].result(batch) for batch in BATCHES}
        floor = {batch: by_name["floor"].result(batch) for batch in BATCHES}
        peer = {batch: by_name["peer"].result(batch) for batch in BATCHES} if "peer" in by_name else {}
        for results in (pg, lite):
            for result in results.values():
                result.statuses = check_answers(result)
        pg_stored, pg_distinct = stored_events(pg_env)
        lite_stored, lite_distinct = stored_events(sqlite_env)

    def per_slice(batch):
        if "peer" not in by_name:
            return ""
        ratios = [o.events_per_second / p.events_per_second
                  for o, p in zip(by_name["pg"].parts[batch], by_name["peer"].parts[batch])]
        return "; ×peer per slice " + " / ".join(f"{r:.2f}" for r in ratios)

    for batch in BATCHES:
        p = peer.get(batch)
        f = floor[batch]
        r = pg[batch]
        report.figure(f"ingest_pg_b{batch}", f"Ingest PostgreSQL, batch {batch}", round(r.events_per_second),
                      "events/s", peer=p.events_per_second if p else None, floor=f.events_per_second,
                      ratio_goals={"peer": 1.0} if batch > 1 else {},  # batch 1: reported, no goal (issue 28)
                      detail=f"p50/p95/p99 {latency_ms(r, 50)}/{latency_ms(r, 95)}/{latency_ms(r, 99)} ms; "
                             f"{r.statuses}; errors {len(r.errors)}{per_slice(batch)}")
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
                             f"{cpu_us_per_event(s)} µs/event). Ours: {split_per_request(r)}. Peer: "
                             f"{split_per_request(p) if p else '–'}. Floor: {split_per_request(f)}")
        total = sum(getattr(r, "cpu_split", {}).values())
        budget, budget_no_idle = floor_budget(r, f, batch)
        if total and budget:
            report.figure(f"cpu_pg_b{batch}_all", f"CPU per request, every process (ours on PostgreSQL), batch {batch}",
                          round(total / r.requests * 1e6), "µs", better="lower",
                          detail=f"gunicorn workers, PostgreSQL backends and the load client together; 0.3 × the "
                                 f"floor would need ≤ {budget:,} µs with the cores as busy as in this run, "
                                 f"≤ {budget_no_idle:,} µs with no core ever idle")
    speeds = (speed_before, harness.python_speed())
    report.figure("python_speed", "Python yardstick on this machine: sum(range(1000))", round(sum(speeds) / 2, 1),
                  "µs", better="lower",
                  detail=f"median of a second's timings before / after the run: {speeds[0]:.1f} / {speeds[1]:.1f} "
                         f"µs — compare runs on different machines by it (everything in Python scales with it; "
                         f"the floor's rate much less)")
    sent = sum(r.events for r in pg.values()) + 16
    report.figure("ingest_pg_exactly_once", "PostgreSQL: events stored / distinct ids / sent", pg_stored, "rows",
                  detail=f"distinct {pg_distinct}, sent {sent}")
    report.figure("ingest_sqlite_exactly_once", "SQLite: events stored / distinct ids / sent", lite_stored, "rows",
                  detail=f"distinct {lite_distinct}, sent {sum(r.events for r in lite.values()) + 16}")
    report.save()


if __name__ == "__main__":
    sys.exit(main())
