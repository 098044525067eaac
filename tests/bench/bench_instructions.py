"""Instructions per push, counted by valgrind (callgrind): the server's own Python for one push request, the same
count on any run of the same code on the same interpreter, whatever else the machine is doing.

The throughput figures of the ingest benchmark move by ±20 % between runs and by a factor of three between
machines of the same kind (a shared machine's CPU comes and goes). That hides a change that saves 5 % of a
push. This count does not: it runs pushes in one process through the app's WSGI callable (no gunicorn, no
network; the request bodies are built beforehand, sealed and gzipped as the PWA sends them) and counts only the
instructions executed between switching callgrind's instrumentation on and off around them. Not counted: the
database server's work (PostgreSQL is a separate process), gunicorn and the kernel's network stack.

Each measured program runs under `valgrind --tool=callgrind --instr-atstart=no` as a child of this one
(`--child ENGINE BATCH N`; under gevent the child patches the standard library first, as gunicorn's gevent workers
do on PostgreSQL in production). Without valgrind on the machine the figures are skipped, said so.
"""
import io
import os
import re
import shutil
import subprocess
import sys
from contextlib import nullcontext
from datetime import datetime, timezone

from tests.bench import harness, municipality
from tests.bench.report import Report, quick

# (engine, events per push, under gevent)
RUNS = [("postgresql", 1, False), ("postgresql", 10, False), ("sqlite", 1, False), ("postgresql", 1, True)]
PUSHES = 30 if quick() else 100
WARM = 20  # pushes before counting: connections made, statements prepared, caches filled
PHONES = 20


def child(engine, batch, pushes):
    """The measured program (under callgrind): warm up, then count `pushes` pushes of `batch` events."""
    database = harness.postgres_database() if engine == "postgresql" else nullcontext(None)
    with database as url, harness.instance(url) as env:
        harness.migrate(env)
        with harness.app_context(env) as app:
            push, requests = in_process_pushes(app, batch, WARM + pushes)
            for request in requests[:WARM]:
                push(request)
            instrument("on")
            for request in requests[WARM:]:
                push(request)
            instrument("off")


def in_process_pushes(app, batch, n, phones=PHONES):
    """(push, requests): `n` pushes of `batch` events as the PWA sends them (sealed v2, gzipped), built
    beforehand, and `push(request)`, which runs one through the app's WSGI callable (the direct path and all)
    and stops the program unless it is answered 200."""
    from werkzeug.test import EnvironBuilder
    devices = municipality.build(phones)
    key = app.extensions["outbox_key"].public_key()
    now = datetime.now(timezone.utc)
    requests = []
    for i in range(n):
        phone = devices[i % len(devices)]
        data, headers = phone.push_request(phone.shift_events(batch, now), key)
        environ = EnvironBuilder(path="/api/sync/push", method="POST", data=data, headers=headers).get_environ()
        requests.append((environ, data))

    def push(request):
        environ, data = request
        environ = dict(environ, **{"wsgi.input": io.BytesIO(data)})
        status = []
        body = b"".join(app.wsgi_app(environ, lambda s, h, exc_info=None: status.append(s)))
        if not status[0].startswith("200"):
            raise SystemExit(f"push answered {status[0]}: {body[:300]!r}")
    return push, requests


def instrument(state):
    subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True,
                   stdout=subprocess.DEVNULL)


# The child as a gevent worker runs it: the standard library patched before anything else is imported
GEVENT_CHILD = ("from gevent import monkey; monkey.patch_all(); import sys; "
                "from tests.bench.bench_instructions import child; "
                "child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))")


def count(engine, batch, pushes, gevent=False):
    """Instructions per push of the child run; raises RuntimeError with valgrind's output if it failed."""
    name = f"callgrind.{engine}.{batch}{'.gevent' if gevent else ''}.out"
    out = os.path.join(harness.REPO, "tests", "bench", "results", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    program = ["-c", GEVENT_CHILD] if gevent else ["-m", "tests.bench.bench_instructions", "--child"]
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                           sys.executable, *program, engine, str(batch), str(pushes)],
                          cwd=harness.REPO, capture_output=True, text=True, timeout=900)
    found = re.search(r"Collected\s*:\s*([\d,]+)", proc.stderr)
    if os.path.exists(out):
        os.unlink(out)  # the per-function profile is for callgrind_annotate by hand, not for the results
    if proc.returncode or not found:
        raise RuntimeError(f"exit {proc.returncode}: {(proc.stdout + proc.stderr)[-1500:]}")
    return int(found.group(1).replace(",", "")) / pushes


def main():
    report = Report("instructions")
    missing = [tool for tool in ("valgrind", "callgrind_control") if not shutil.which(tool)]
    if missing:
        report.note(f"{' and '.join(missing)} not installed: instruction counts skipped (Debian: apt install valgrind).")
        report.save()
        return
    pg = harness.pg_available()
    for engine, batch, gevent in RUNS:
        if engine == "postgresql" and not pg:
            report.note(f"PostgreSQL is not reachable: its instruction counts skipped ({harness.PG_PROBLEM}).")
            continue
        try:
            per_push = count(engine, batch, PUSHES, gevent)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            report.note(f"{engine}, batch {batch}{', gevent' if gevent else ''}: the counted run failed: {exc}")
            continue
        name = "PostgreSQL" if engine == "postgresql" else "SQLite"
        report.figure(f"instructions_{engine}_b{batch}{'_gevent' if gevent else ''}",
                      f"Instructions per push of {batch}, the app on {name}" + (" under gevent" if gevent else ""),
                      round(per_push), "instructions", better="lower",
                      detail=f"{round(per_push / batch):,} per event; {PUSHES} pushes counted after {WARM}, in one "
                             f"process through the WSGI callable (no gunicorn, no network, not the database "
                             f"server's own work)"
                             + ("; the standard library patched by gevent, as in gunicorn's gevent workers"
                                if gevent else ""))
    report.save()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(main())
