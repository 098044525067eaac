"""Two versions of the server side by side at the same moment: CPU per push of each, on PostgreSQL.

    .venv/bin/python -m tests.bench.ab_servers /path/to/tree-A /path/to/tree-B [--batch 1] [--pushes 1500] [--rounds 5]
        [--threads 2]

Each tree (a checkout of this repository, e.g. `git worktree add /tmp/b <commit>`) is served by this
virtualenv's gunicorn with two workers, the tree's code and its gunicorn.conf.py, on a database of its own; both
are pushed at once, two client threads each, for `--rounds` rounds (`--threads 4`: each side's workers see as
many phones at once as in the ingest benchmark — what pushes sharing a transaction need). Per round it prints
each side's CPU per push (its workers and its PostgreSQL backends, as bench_ingest counts them) and B/A; at the
end the median of B/A.

Why: on a shared two-core guest the machine's speed moves by half within minutes (a push of one cost
2,580–4,112 µs over every process in runs minutes apart, the same code), so runs of A and then B, even
alternating, could not resolve a change of a few per cent. Pushed at the same time, both sides meet the same
moments; A against itself gave B/A 0.986–1.017 in four rounds of five (one 1.149), median 0.996. Not run by
`make bench` (it compares two trees, it does not measure the product); BENCHMARKS.md quotes what it showed.
"""
import argparse
import statistics
import threading
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

from tests.bench import bench_ingest, harness
from tests.bench.load import run

CLIENT_THREADS = 2  # per side by default: four in all, as the ingest benchmark's


def requests_for(phones, key, batch, n, now):
    return bench_ingest.our_requests([(phones[i % len(phones)], phones[i % len(phones)].shift_events(batch, now))
                                      for i in range(n)], phones, key)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--pushes", type=int, default=1500, help="per side and round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=CLIENT_THREADS,
                    help="client threads per side (4: each side's workers see as many phones at once as in the "
                         "ingest benchmark, what pushes sharing a transaction need)")
    args = ap.parse_args()
    if not harness.pg_available():
        raise SystemExit(f"PostgreSQL is not reachable (BENCH_PG_URL): {harness.PG_PROBLEM}")
    with ExitStack() as stack:
        sides = {}
        for name, tree in (("A", args.a.resolve()), ("B", args.b.resolve())):
            url = stack.enter_context(harness.postgres_database(prefix=f"hv_ab_{name.lower()}"))
            env = stack.enter_context(harness.instance(url))
            phones, key = bench_ingest.seed(env)
            base, proc = stack.enter_context(harness.gunicorn(env, workers=2, tree=tree))
            sides[name] = {"url": url, "base": base, "proc": proc, "phones": phones, "key": key}
        now = datetime.now(timezone.utc)
        for side in sides.values():  # warm: connections, prepared statements
            run(side["base"], requests_for(side["phones"], side["key"], 2, 8, now), args.threads)
        ratios = []
        for _ in range(args.rounds):
            work = {name: requests_for(s["phones"], s["key"], args.batch, args.pushes, now)
                    for name, s in sides.items()}
            meters = {name: bench_ingest.CpuMeter({"workers": lambda pid=s["proc"].pid: harness.children(pid),
                                                   "PostgreSQL": lambda url=s["url"]: harness.postgres_backends(url)})
                      for name, s in sides.items()}
            results = {}

            def push(name):
                results[name] = run(sides[name]["base"], work[name], args.threads, keep_answers=True)
            threads = [threading.Thread(target=push, args=(name,)) for name in sides]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            per_push = {}
            for name in sides:
                meters[name].stop(results[name])
                split = results[name].cpu_split
                per_push[name] = (split["workers"] + split["PostgreSQL"]) / results[name].requests * 1e6
                statuses = bench_ingest.check_answers(results[name])
                if results[name].errors or set(statuses) != {"applied"}:
                    raise SystemExit(f"{name}: {statuses}, errors {results[name].errors[:3]}")
            ratios.append(per_push["B"] / per_push["A"])
            print(" | ".join(f"{name}: {per_push[name]:,.0f} µs per push (workers "
                             f"{results[name].cpu_split['workers'] / results[name].requests * 1e6:,.0f})"
                             for name in sides) + f" | B/A {ratios[-1]:.3f}", flush=True)
        print(f"B/A, median of {len(ratios)} rounds: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
