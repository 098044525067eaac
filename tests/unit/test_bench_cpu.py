"""The ingest benchmark's CPU bookkeeping: BENCHMARKS.md argues from these sums, so they are checked."""
from types import SimpleNamespace

import pytest

from tests.bench.bench_ingest import floor_budget, split_per_request
from tests.bench.load import LoadResult


def slice_(seconds, events, requests, split, machine):
    result = LoadResult(seconds, events, requests)
    result.cpu_seconds = sum(v for k, v in split.items() if k != "client")
    result.cpu_split, result.machine = split, machine
    return result


def test_slices_combine_by_summing_cpu_and_clock_ticks():
    a = slice_(1.0, 1000, 1000, {"workers": 1.0, "PostgreSQL": 0.3, "client": 0.2}, {"all": 200, "idle": 20})
    b = slice_(3.0, 2000, 2000, {"workers": 2.0, "PostgreSQL": 0.7, "client": 0.4}, {"all": 600, "idle": 180})
    both = LoadResult.combine([a, b])
    assert both.cpu_seconds == 4.0
    assert both.cpu_split == pytest.approx({"workers": 3.0, "PostgreSQL": 1.0, "client": 0.6})
    assert both.machine == {"all": 800, "idle": 200}
    assert split_per_request(both) == "workers 1,000 / PostgreSQL 333 / client 200 µs per request; cores idle 25%"


def test_the_floor_budget_is_two_cores_shared_by_the_requests_the_goal_needs():
    ours = slice_(1.0, 1000, 1000, {"workers": 1.0, "client": 0.2}, {"all": 200, "idle": 50})  # a quarter idle
    floor = SimpleNamespace(events_per_second=5000.0)
    # 0.3 × 5,000 rows/s at batch 1 = 1,500 pushes/s on 2 cores: 1,333 µs each, 1,000 when a quarter idles
    assert floor_budget(ours, floor, batch=1) == (1000, 1333)
    # at batch 10 the same rows are 150 requests/s
    assert floor_budget(ours, floor, batch=10) == (10000, 13333)
    assert floor_budget(LoadResult(1.0, 1, 1), floor, batch=1) == (None, None)  # nothing measured
