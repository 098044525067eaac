"""Closed-loop HTTP load from a few client threads on keep-alive connections, with per-request latency.

Requests are built before the clock starts, so the client spends its time sending, not sealing or encoding,
and each goes out as bytes prepared once, in one write; answers are read by a minimal HTTP/1.1 reader
(Content-Length or chunked). The client shares the machine's two cores with the servers it measures, so its
own cost is part of every throughput figure: http.client's header parsing (the email package) cost about
370 µs a request here, a third of what a push of one costs our server process — more than the floor's client
spends per INSERT (BENCHMARKS.md, the sixth session).
"""
import socket
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

    def wire(self, host):
        """The whole request as it goes out (POST, keep-alive)."""
        head = {"Host": host, "Content-Type": "application/json", **self.headers,
                "Content-Length": str(len(self.body))}
        return (f"POST {self.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
                + "\r\n").encode("latin-1") + self.body


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


class ProtocolError(OSError):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection: send prepared requests, read status and body."""

    def __init__(self, base):
        parts = urlsplit(base)
        self.host, self.address = parts.netloc, (parts.hostname, parts.port)
        self._open()

    def _open(self):
        self.sock = socket.create_connection(self.address, timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ProtocolError("the server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def exchange(self, wire):
        """Send one request's bytes; (status, body) of the answer."""
        self.sock.sendall(wire)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise ProtocolError(f"not an HTTP status line: {lines[0][:80]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._line().split(b";", 1)[0], 16)
                if size == 0:
                    while self._line():  # trailers, up to the empty line
                        pass
                    break
                parts.append(self._take(size))
                self._take(2)
            body = b"".join(parts)
        else:
            raise ProtocolError("an answer without a length")
        if headers.get("connection", "").lower() == "close":  # answered, but the next request needs another
            self.close()
            self._open()
        return status, body


def run(base, requests, threads=4, keep_answers=False):
    """Send `requests` (round-robin over `threads` connections) as fast as the server answers them."""
    lanes = [requests[i::threads] for i in range(threads)]
    result = LoadResult(0.0, 0, 0)
    lock = threading.Lock()
    start_gate = threading.Barrier(threads + 1)

    def lane(items):
        conn = Connection(base)
        wires = [req.wire(conn.host) for req in items]
        latencies, errors, answers, events = [], [], [], 0
        start_gate.wait(timeout=600)
        for req, wire in zip(items, wires):
            t0 = time.perf_counter()
            try:
                status, body = conn.exchange(wire)
            except OSError as exc:
                conn.close()
                conn = Connection(base)
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
