"""Profile one push path in-process (cProfile): where does the server spend its time per event?

    .venv/bin/python -m tests.bench.profile_ingest [--sqlite] [--batches 20] [--batch 100] [--plain]

Not run by `make bench` (it prints a profile, not a figure); BENCHMARKS.md quotes what it showed.
"""
import argparse
import cProfile
import io
import pstats
import time
from contextlib import nullcontext
from datetime import datetime, timezone

from tests.bench import harness, municipality


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--plain", action="store_true", help="plain events with the full token instead of sealed")
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--top", type=int, default=35)
    args = ap.parse_args()
    database = nullcontext(None) if args.sqlite else harness.postgres_database()
    with database as url, harness.instance(url) as env:
        harness.migrate(env)
        with harness.app_context(env) as app:
            phones = municipality.build(50)
            key = None if args.plain else app.extensions["outbox_key"].public_key()
            now = datetime.now(timezone.utc)
            bodies = []
            for i in range(args.batches + 2):
                phone = phones[i % len(phones)]
                token = phone.token if args.plain else phone.push_token
                body = phone.body(phone.shift_events(args.batch, now), key)
                # what the PWA sends: sealed v2 in a gzipped body (plain: the JSON as it is)
                bodies.append((municipality.wire(body) if key else (municipality.dumps(body), {}), token))
            client = app.test_client()

            def push(body, token):
                data, headers = body
                r = client.post("/api/sync/push", data=data, content_type="application/json",
                                headers={"Authorization": f"Bearer {token}", **headers})
                assert r.status_code == 200, r.get_data(as_text=True)[:300]

            for body, token in bodies[:2]:  # warm caches and connections
                push(body, token)
            profiler = cProfile.Profile()
            t0 = time.perf_counter()
            profiler.enable()
            for body, token in bodies[2:]:
                push(body, token)
            profiler.disable()
            seconds = time.perf_counter() - t0
    events = args.batches * args.batch
    print(f"{events} events in {seconds:.2f} s under the profiler: {events / seconds:,.0f} events/s "
          f"({seconds / events * 1e6:,.0f} µs per event), one process")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
