"""Closed-loop HTTP load from a few client threads on keep-alive connections, with per-request latency.

Bodies are built before the clock starts, so the client spends its time sending, not sealing or encoding.
"""
import http.client
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict
    events: int


@dataclass
class LoadResult:
    seconds: float
    events: int
    requests: int
    latencies: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    answers: list = field(default_factory=list)

    @property
    def events_per_second(self):
        return self.events / self.seconds if self.seconds else None

    @classmethod
    def combine(cls, parts):
        """Several runs of one target as one: their events over their summed time, every latency, every error,
        and their CPU seconds where measured."""
        out = cls(sum(r.seconds for r in parts), sum(r.events for r in parts), sum(r.requests for r in parts))
        for r in parts:
            out.latencies += r.latencies
            out.errors += r.errors
            out.answers += r.answers
        cpu = [r.cpu_seconds for r in parts if getattr(r, "cpu_seconds", None) is not None]
        if cpu:
            out.cpu_seconds = sum(cpu)
        for name in ("cpu_split", "machine"):  # {what: seconds} (or ticks), summed over the parts
            dicts = [getattr(r, name) for r in parts if getattr(r, name, None)]
            if dicts:
                setattr(out, name, {k: sum(d.get(k, 0) for d in dicts) for k in dicts[0]})
        return out


def _connect(base):
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)


def send(conn, req):
    conn.request("POST", req.path, body=req.body, headers={"Content-Type": "application/json", **req.headers})
    response = conn.getresponse()
    return response.status, response.read()


def run(base, requests, threads=4, keep_answers=False):
    """Send `requests` (round-robin over `threads` connections) as fast as the server answers them."""
    lanes = [requests[i::threads] for i in range(threads)]
    result = LoadResult(0.0, 0, 0)
    lock = threading.Lock()
    start_gate = threading.Barrier(threads + 1)

    def lane(items):
        conn = _connect(base)
        latencies, errors, answers, events = [], [], [], 0
        start_gate.wait(timeout=600)
        for req in items:
            t0 = time.perf_counter()
            try:
                status, body = send(conn, req)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = _connect(base)
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - t0)
            if status >= 300:
                errors.append(f"HTTP {status}: {body[:200]!r}")
            else:
                events += req.events
                if keep_answers:
                    answers.append(body)
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors.extend(errors)
            result.answers.extend(answers)
            result.events += events
            result.requests += len(items)

    workers = [threading.Thread(target=lane, args=(items,)) for items in lanes if items]
    start_gate = threading.Barrier(len(workers) + 1)
    for w in workers:
        w.start()
    start_gate.wait(timeout=600)
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    result.seconds = time.perf_counter() - t0
    return result
