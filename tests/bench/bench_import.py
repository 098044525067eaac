"""Importing a municipality (issue 29): 3,000 staff, 15,000 clients with care plans, 14 days of visits (630,000)
into PostgreSQL with `flask import` — the dry run, the apply, and a second identical import (which must change
nothing). Goals: dry run and apply ≤ 60 s each, the second import ≤ 30 s; peak memory of the command is reported.

The files are generated (streamed to disk) the way a planning system exports them: one folder, a CSV per kind.
"""
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sync.personnummer import make
from tests.bench.harness import BIN, REPO, instance, migrate, pg_available, postgres_database
from tests.bench.report import Report, quick

STAFF = 300 if quick() else 3000
CLIENTS = 1500 if quick() else 15000
DAYS = 2 if quick() else 14
VISITS_PER_DAY = 15  # per worker, 30 minutes every 35 minutes from 06:30: no double booking
STAFF_PER_UNIT = 100
GOALS = {"dry": 60.0, "apply": 60.0, "again": 30.0}


def write_files(folder):
    units = [f"ENH-{u:03d}" for u in range(max(1, STAFF // STAFF_PER_UNIT))]
    with open(folder / "units.csv", "w", encoding="utf-8") as f:
        f.write("external_id;name\n")
        f.writelines(f"{u};Hemtjänst {u}\n" for u in units)
    with open(folder / "staff.csv", "w", encoding="utf-8") as f:
        f.write("external_id;unit;username;name;role\n")
        f.writelines(f"P-{i};{units[i % len(units)]};p{i};Person {i};worker\n" for i in range(STAFF))
    with open(folder / "clients.csv", "w", encoding="utf-8") as f, \
            open(folder / "care_plans.csv", "w", encoding="utf-8") as plans:
        f.write("external_id;unit;personal_number;name;address;key_ref\n")
        plans.write("client;intervention;planned_minutes\n")
        for i in range(CLIENTS):
            number = make(1820 + i % 80, 1 + i % 12, 1 + i % 28, i % 1000)  # born in the 1800s: nobody alive
            f.write(f"B-{i};{units[i % len(units)]};{number};Fiktiv Brukare {i};Gata {i};K-{i}\n")
            plans.writelines(f"B-{i};{code};20\n" for code in ("TILLSYN", "FRUKOST", "LM"))
    per_unit = CLIENTS // len(units)
    visits = 0
    with open(folder / "visits.csv", "w", encoding="utf-8") as f:
        f.write("external_id;client;start;end;staff;interventions\n")
        first = date(2026, 12, 8)
        for d in range(DAYS):
            day = first + timedelta(days=d)
            for s in range(STAFF):
                unit = s % len(units)
                for slot in range(VISITS_PER_DAY):
                    client = ((s * 7 + slot * 13 + d) % per_unit) * len(units) + unit
                    minutes = 6 * 60 + 30 + 35 * slot
                    start, end = divmod(minutes, 60), divmod(minutes + 30, 60)
                    f.write(f"V-{d}-{s}-{slot};B-{client};{day} {start[0]:02d}:{start[1]:02d};"
                            f"{day} {end[0]:02d}:{end[1]:02d};P-{s};TILLSYN|LM\n")
                    visits += 1
    return visits


def flask_import(env, folder, *flags):
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "flask"), "--app", "server", "import", str(folder), *flags], env=env, cwd=REPO,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"flask import failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def main():
    report = Report("import")
    if not pg_available():
        report.note("PostgreSQL not reachable: the import benchmark needs it.")
        report.save()
        return 0
    with tempfile.TemporaryDirectory(prefix="hv_import_") as tmp, postgres_database("hv_import") as url, \
            instance(url) as env:
        folder = Path(tmp)
        visits = write_files(folder)
        migrate(env)
        size = f"{STAFF:,} staff, {CLIENTS:,} clients, {visits:,} visits"
        for key, flags, label in (("dry", ("--dry-run",), "dry run"), ("apply", (), "apply"),
                                  ("again", (), "second identical import")):
            seconds, out = flask_import(env, folder, *flags)
            changed = [line for line in out.splitlines() if line.startswith("visits")]
            report.figure(f"import_{key}", f"flask import, {label}: {size}", round(seconds, 1), "s",
                          goal=GOALS[key], better="lower", detail=changed[0] if changed else None)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report.figure("import_peak_rss", "flask import: peak memory of the command", round(peak), "MiB",
                      better="lower", detail="largest resident set of the three runs")
    report.save()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
