"""Where PostgreSQL's share of a push goes, function by function: pushes run one after the other in this process
(through the app's WSGI callable, as bench_instructions does) while `perf record` samples the database's backends.

    .venv/bin/python -m tests.bench.profile_postgres [--batch 1] [--pushes 4000] [--top 60]

Prints the backends' CPU per push and perf's report of their user-space functions, each with what it calls
("children": PortalRun, CommitTransactionCommand, ExecInitNode, fdatasync …). Needs Linux `perf` (Debian: linux-perf)
allowed to sample other processes (as root, or kernel.perf_event_paranoid ≤ 1); PostgreSQL's binary from
Debian keeps its function names. Not run by `make bench` (it prints a profile, not a figure); BENCHMARKS.md
quotes what it showed.
"""
import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import harness
from tests.bench.bench_instructions import WARM, in_process_pushes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--pushes", type=int, default=4000)
    ap.add_argument("--top", type=int, default=60)
    args = ap.parse_args()
    if not shutil.which("perf"):
        sys.exit("perf is not installed (Debian: apt install linux-perf)")
    if not harness.pg_available():
        sys.exit(f"PostgreSQL is not reachable (BENCH_PG_URL): {harness.PG_PROBLEM}")
    with harness.postgres_database() as url, harness.instance(url) as env, \
            tempfile.TemporaryDirectory(prefix="hv_perf_") as folder:
        harness.migrate(env)
        with harness.app_context(env) as app:
            push, requests = in_process_pushes(app, args.batch, WARM + args.pushes)
            for request in requests[:WARM]:
                push(request)
            backends = harness.postgres_backends(url)
            data = Path(folder) / "perf.data"
            perf = subprocess.Popen(["perf", "record", "--call-graph", "fp", "-F", "2000", "-o", str(data),
                                     "-p", ",".join(map(str, backends))],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)  # perf attaches
            if perf.poll() is not None:
                sys.exit(f"perf could not sample PostgreSQL's backends: {perf.stderr.read().strip()}")
            cpu = harness.cpu_seconds(backends)
            for request in requests[WARM:]:
                push(request)
            cpu = harness.cpu_seconds(backends) - cpu
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
        report = subprocess.run(["perf", "report", "-i", str(data), "--children", "--sort", "sym", "--stdio",
                                 "-g", "none"], capture_output=True, text=True)
    # user-space functions (the kernel's time shows in the callers': fdatasync under the commit, sends …);
    # addresses without a name are left out
    lines = [line for line in report.stdout.splitlines() if "[.]" in line and "0x0000" not in line]
    print(f"{args.pushes} pushes of {args.batch}, one after the other: PostgreSQL's backends "
          f"{cpu / args.pushes * 1e6:,.0f} µs of CPU per push\n"
          f"perf, share of the backends' samples (children: with what each function calls):")
    print("\n".join(lines[:args.top]))


if __name__ == "__main__":
    main()
