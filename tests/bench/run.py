"""`make bench`: run every tests/bench/bench_*.py, print each figure with its goal and its ratios to the
peer and the floor, keep tests/bench/results/*.json, and write the one table of BENCHMARKS.md (`ROWS`: each
figure, why it matters to a user, its goal, the latest value, met).

    .venv/bin/python -m tests.bench.run [--quick] [--only ingest,storm] [--no-write]

Each benchmark runs as its own process (a crash or a timeout of one does not stop the others). A benchmark
not run this time keeps its last results file, and the table says which run each figure comes from. Only
the part of BENCHMARKS.md between the result markers is rewritten; the text around it is kept.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from tests.bench.harness import REPO
from tests.bench.report import RESULTS, Report, _fmt

BENCH_DIR = REPO / "tests" / "bench"
DOC = REPO / "BENCHMARKS.md"
BEGIN, END = "<!-- results:begin (make bench rewrites this part) -->", "<!-- results:end -->"
ORDER = ["rules", "wire", "pwa", "ingest", "storm", "dashboard"]  # cheap first; the rest alphabetically after
TIMEOUT = int(os.environ.get("BENCH_TIMEOUT", "900"))
# Benchmarks that take longer at their full size (five years of the access log are generated first).
TIMEOUTS = {"access_log": int(os.environ.get("BENCH_ACCESS_LOG_TIMEOUT", str(6 * 3600)))}


def discover(only):
    names = sorted(p.stem[len("bench_"):] for p in BENCH_DIR.glob("bench_*.py"))
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [n for n in names if not only or n in only]


def run_one(name, env):
    """Run one benchmark, echoing its output; returns (seconds, exit code, output lines, load before/after)."""
    result_file = RESULTS / f"{name}.json"
    if result_file.exists():
        result_file.unlink()  # a stale file must not pass for this run's figures
    load_before = os.getloadavg()
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", f"tests.bench.bench_{name}"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    try:
        for line in proc.stdout:
            if "alembic.runtime.migration" in line:
                continue
            sys.stdout.write("  │ " + line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
        code = proc.wait(timeout=TIMEOUTS.get(name, TIMEOUT))
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM first: the benchmark drops its databases and stops its servers
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        code = "timeout"
    return time.time() - t0, code, lines, load_before, os.getloadavg()


def proc_field(path, name):
    """The value of the first `name: value` line of a /proc file, or "?"."""
    try:
        for line in open(path):
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def machine():
    """The machine as read at run time: cores, CPU model, memory, Python, PostgreSQL."""
    memory = proc_field("/proc/meminfo", "MemTotal")  # "24683772 kB"
    memory = f"{int(memory.split()[0]) / 2**20:.0f} GiB" if memory.endswith("kB") else memory
    pg = "?"
    try:
        pg = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
                            capture_output=True, text=True, timeout=5).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        pass
    return (f"{os.cpu_count()} CPUs ({proc_field('/proc/cpuinfo', 'model name')}), {memory}, "
            f"Python {platform.python_version()}, PostgreSQL {pg}")


@dataclass(frozen=True)
class Check:
    """One number of a row: figure `keys` of benchmark `bench` (the worst of several), against a goal.

    `of`: "value" (the figure itself) or "peer" (its ratio to pouchdb-server in the same run, above 1 = we
    do better). `op` and `goal`: None when the figure is reported without a goal."""
    bench: str
    keys: tuple
    op: str | None = None  # "≤" or "≥"
    goal: float | None = None
    unit: str = ""
    of: str = "value"


# The one table of BENCHMARKS.md: what each figure means to a user and its goal (issue 28, in product terms).
# A row whose figures are missing from tests/bench/results shows "—". The steady-load row reads
# `steady_p99` (ms) from a benchmark named `steady`; the herd rows read bench_storm's `storm_herd_*`.
ROWS = [
    ("Herd: 1,000 phones × 40 sealed records, all in the same second",
     "after an outage every phone reconnects at once; every record is in, once, within half a minute",
     [Check("storm", ("storm_herd_drain",), "≤", 30, "s"), Check("storm", ("storm_herd_errors",), "≤", 0, "errors"),
      Check("storm", ("storm_herd_duplicates",), "≤", 0, "duplicates")]),
    ("Steady load of a 3,000-worker municipality (20 pushes/s of 1–5 records): p99",
     "on a normal day a sync never keeps a worker waiting",
     [Check("steady", ("steady_p99",), "≤", 100, "ms")]),
    ("Ingest PostgreSQL at batch 10 · 40 · 100, against pouchdb-server `_bulk_docs` in the same run",
     "a day's records arrive at least as fast as with an off-the-shelf sync server",
     [Check("ingest", (f"ingest_pg_b{b}",), "≥", 1.0, "× peer", of="peer") for b in (10, 40, 100)]),
    ("Ingest PostgreSQL, batch 1 (saturated throughput)",
     "reported only: a phone sends what it has, rarely one record at a time",
     [Check("ingest", ("ingest_pg_b1",), unit="records/s"),
      Check("ingest", ("ingest_pg_b1",), unit="× peer", of="peer")]),
    ("Shift package on the wire (gzip, median worker)",
     "the whole shift reaches the phone over weak 4G before the worker leaves",
     [Check("wire", ("shift_package_gzip",), "≤", 20480, "B")]),
    ("Push bytes per record, batch of 40: sealed · plain",
     "a day's records go out over a poor connection in one short request",
     [Check("wire", ("push_sealed_per_event",), "≤", 200, "B"),
      Check("wire", ("push_plain_per_event",), "≤", 200, "B")]),
    ("App shell as served (gzip), everything the service worker caches",
     "the app installs quickly on a cheap phone and a small data plan",
     [Check("pwa", ("shell_gzip",), "≤", 61440, "B")]),
    ("Cold load on slow 4G until today's visits show",
     "a new phone is usable within seconds on a bad network",
     [Check("pwa", ("cold_load_slow4g",), "≤", 3, "s")]),
    ("Warm start offline from the service worker (to the PIN screen)",
     "with no network at all the app opens at once",
     [Check("pwa", ("warm_offline_start",), "≤", 1, "s")]),
    ("Lighthouse mobile: performance · accessibility",
     "fast on a slow phone; usable with a screen reader and large text",
     [Check("pwa", ("lighthouse_performance",), "≥", 95, "/100"),
      Check("pwa", ("lighthouse_accessibility",), "≥", 100, "/100")]),
    ("Rule engine: 3,000 workers / 45,000 visits, slowest of short, long and ongoing outage",
     "after an outage everyone sees at once who registers what, and by when",
     [Check("rules", ("rules_short", "rules_long", "rules_ongoing"), "≤", 1, "s")]),
    ("Import of a municipality (3,000 staff, 15,000 clients, 630,000 visits) into PostgreSQL: dry run · apply · "
     "the same import again",
     "a planning system's day reaches the phones before the next outage, not after it",
     [Check("import", ("import_dry",), "≤", 60, "s"), Check("import", ("import_apply",), "≤", 60, "s"),
      Check("import", ("import_again",), "≤", 30, "s")]),
    ("Dashboard views p95 (500,000 records, 2,000 phones), slowest view",
     "a manager's backlog and readiness pages open without waiting",
     [Check("dashboard", tuple(f"{v}_p95" for v in ("backlog", "trends", "readiness", "access_log",
                                                    "access_log_client", "access_log_user", "access_checks")),
            "≤", 150, "ms")]),
    ("Access-log review over years of the log (goal: 5 years × 150,000 rows a day, 274 million rows): rows · p95 "
     "of the slowest kind of question · a unit's month as CSV: how much the server grows while streaming it",
     "a manager finds who opened a client's record over all five years the law keeps, without waiting; "
     "exporting a month never exhausts the server",
     [Check("access_log", ("rows",), unit="rows"),
      Check("access_log", tuple(f"review_{k}_p95" for k in ("latest", "next_pages", "client_all_years",
                                                             "user_all_years", "day", "month")), "≤", 150, "ms"),
      Check("access_log", ("csv_rss_growth",), "≤", 50, "MB")]),
]


def measured(check, figures):
    """The check's number from this bench's figures (the worst of its keys), or None when not measured."""
    found = [figures[k] for k in check.keys if k in figures]
    values = [f["ratios"].get("peer") if check.of == "peer" else f["value"] for f in found]
    values = [v for v in values if v is not None]
    if len(values) < len(check.keys):
        return None
    worse = min if check.op == "≥" or check.of == "peer" else max
    return worse(values)


def cells(check, value):
    """(goal, value, met) texts of one check; met None when there is no goal or no value."""
    written = _fmt(check.goal) if isinstance(check.goal, int) else str(check.goal)  # 1.0 stays "1.0"
    goal = "" if check.goal is None else (f"{written} {check.unit}" if check.goal == 0
                                          else f"{check.op} {written} {check.unit}")
    shown = "—" if value is None else f"{_fmt(value)} {check.unit}"
    if check.goal is None or value is None:
        return goal, shown, None
    return goal, shown, value <= check.goal if check.op == "≤" else value >= check.goal


def table(results):
    """The one table; `results`: {bench: {key: figure}}."""
    rows = ["| Figure | Why it matters to a user | Goal | Latest value | Met |", "|---|---|---|---|:-:|"]
    for label, why, checks in ROWS:
        parts = [cells(c, measured(c, results.get(c.bench, {}))) for c in checks]
        goals = [g for g, _, _ in parts if g]
        goals = (f"{goals[0]} each" if len(goals) > 1 and len(set(goals)) == 1 else " · ".join(goals)) \
            or "none (reported)"
        values = [v for _, v, _ in parts]
        values = "—" if set(values) == {"—"} else " · ".join(values)
        verdicts = [m for g, _, m in parts if g]  # one per goal: True, False, or None (not measured)
        if False in verdicts:
            met = "❌"
        elif verdicts and None not in verdicts:
            met = "✅"
        else:
            met = "—"
        rows.append(f"| {label} | {why} | {goals} | {values} | {met} |")
    return "\n".join(rows)


def render(runs, quick_run):
    """The generated part of BENCHMARKS.md: when and where, which run each benchmark's figures come from,
    the table."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sources, results = {}, {}  # where the figures come from: {"from this run": [bench, …], …}
    for name, run in runs.items():
        data = run.get("data")
        if not data:
            source = f"without results (exit {run['process'][1]})"
        else:
            results[name] = {f["key"]: f for f in data["figures"]}
            source = "from this run" if run["process"] is not None else \
                f"from the run of {data['finished_at'][:16].replace('T', ' ')}"
            source += " at QUICK=1 sizes" if data.get("quick") else ""
        sources.setdefault(source, []).append(name)
    said = "; ".join(f"{', '.join(names)} {source}" for source, names in sources.items())
    return "\n".join([
        BEGIN, "",
        f"_Written by `make bench{' QUICK=1' if quick_run else ''}` on {now} — {machine()}. "
        f"Figures: {said or 'none'}._", "",
        table(results), "", END])


def write_doc(block):
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (same as BENCH_QUICK=1)")
    ap.add_argument("--only", default="", help="comma-separated names, e.g. ingest,storm")
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    quick_run = args.quick or env.get("BENCH_QUICK", "") not in ("", "0")
    env["BENCH_QUICK"] = "1" if quick_run else ""
    RESULTS.mkdir(exist_ok=True)
    runs = {}
    started = time.time()
    for name in discover({n.strip() for n in args.only.split(",") if n.strip()}):
        print(f"\n━━ {name} {'(quick)' if quick_run else ''}", flush=True)
        process = run_one(name, env)
        path = RESULTS / f"{name}.json"
        data = json.loads(path.read_text()) if path.exists() else None
        if data is not None:  # keep how busy the machine was with the figures, for later reruns of others
            data["load_average"] = [round(process[3][0], 1), round(process[4][0], 1)]
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        runs[name] = {"process": process, "data": data}
    print(f"\n━━ Summary ({time.time() - started:.0f} s)")
    for name, run in runs.items():
        print(f"{name}:")
        data = run["data"]
        if not data or not data["figures"]:
            print(f"  (no results file; exit {run['process'][1]})")
            continue
        for fig in data["figures"]:
            print(Report.line(fig))
    if not args.no_write:
        everything = {}
        for name in discover(set()):
            path = RESULTS / f"{name}.json"
            if name in runs:
                everything[name] = runs[name]
            elif path.exists():
                everything[name] = {"process": None, "data": json.loads(path.read_text())}
        write_doc(render(everything, quick_run))
        print(f"\nWrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
