"""One figure format for every benchmark: printed as it is measured and saved to tests/bench/results/<bench>.json.

A benchmark script makes a `Report("ingest")`, calls `figure(...)` for each number and `save()` at the end.
The runner (`tests/bench/run.py`) reads the JSON files and writes the table in BENCHMARKS.md. A figure
never fails anything: `met` is information for people, not an assertion.
"""
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def quick():
    """`make bench QUICK=1` (or BENCH_QUICK=1): smaller sizes for a fast look; the default gives the issue's figures."""
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")


def _fmt(value):
    if value is None:
        return "–"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def goal_met(value, goal, better):
    if goal is None or value is None:
        return None
    return value >= goal if better == "higher" else value <= goal


class Report:
    def __init__(self, bench):
        self.bench = bench
        self.figures = []
        self.notes = []
        self.started = time.time()

    def figure(self, key, label, value, unit, goal=None, better="higher", peer=None, floor=None, detail=None,
               ratio_goals=None):
        """Record one number. `peer`/`floor`: the same quantity measured for the baselines in this run."""
        ratios = {}
        if peer is not None and value is not None and peer:
            ratios["peer"] = round(value / peer if better == "higher" else peer / value, 3)
        if floor is not None and value is not None and floor:
            ratios["floor"] = round(value / floor if better == "higher" else floor / value, 3)
        fig = {"key": key, "label": label, "value": value, "unit": unit, "goal": goal, "better": better,
               "met": goal_met(value, goal, better), "ratios": ratios, "ratio_goals": ratio_goals or {},
               "detail": detail}
        self.figures.append(fig)
        print(self.line(fig), flush=True)
        return fig

    def note(self, text):
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    @staticmethod
    def line(fig):
        goal = ""
        if fig["goal"] is not None:
            sign = "≥" if fig["better"] == "higher" else "≤"
            goal = f"  goal {sign} {_fmt(fig['goal'])} {fig['unit']} [{'met' if fig['met'] else 'MISSED'}]"
        ratios = "".join(f"  ×{name} {r:.2f}" + (f" (goal ≥ {fig['ratio_goals'][name]})"
                                                   if name in fig["ratio_goals"] else "")
                         for name, r in fig["ratios"].items())
        return f"  {fig['label']}: {_fmt(fig['value'])} {fig['unit']}{goal}{ratios}"

    def save(self):
        RESULTS.mkdir(exist_ok=True)
        data = {"bench": self.bench, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.time() - self.started, 1), "quick": quick(), "figures": self.figures,
                "notes": self.notes, "python": sys.version.split()[0], "machine": platform.machine(),
                "cpus": os.cpu_count()}
        path = RESULTS / f"{self.bench}.json"
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return path
