"""The benchmarks' load client reads HTTP/1.1 answers itself: by Content-Length, chunked, and across a
server's `Connection: close`; every request of a run is answered and counted."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.bench.load import Connection, Request, run


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        mode = self.path.rsplit("/", 1)[1]
        answer = b'{"got": %d, "auth": "%s"}' % (len(body), self.headers.get("Authorization", "").encode())
        self.send_response(201 if mode != "bad" else 422)
        self.send_header("Content-Type", "application/json")
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (answer[:5], answer[5:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(answer)))
        if mode == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("mode", ["length", "chunked", "close"])
def test_answers_are_read_whole_on_one_connection(server, mode):
    conn = Connection(server)
    req = Request(f"/push/{mode}", b"x" * 300, {"Authorization": "Bearer abc"}, 1)
    for _ in range(3):  # the same connection (or, after a close, its replacement) serves the next request
        assert conn.exchange(req.wire(conn.host)) == (201, b'{"got": 300, "auth": "Bearer abc"}')
    conn.close()


def test_a_run_answers_and_counts_every_request(server):
    reqs = [Request(f"/push/{m}", b"{}", {}, 2) for m in ("length", "chunked", "close", "bad") * 5]
    result = run(server, reqs, threads=3, keep_answers=True)
    assert result.requests == 20 and result.events == 30  # the five refused requests carry no events
    assert len(result.errors) == 5 and all(e.startswith("HTTP 422") for e in result.errors)
    assert len(result.latencies) == 20 and len(result.answers) == 15
