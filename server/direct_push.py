"""The push endpoint's direct path: `POST /api/sync/push` answered without Flask's request machinery and the ORM
session, for the pushes that need neither (PostgreSQL through psycopg, SQLite through sqlite3).

A phone pushes every few minutes, mostly one or a few records; on two cores the answer to such a push spent
more time in Flask's request and response objects and in the ORM session's bookkeeping than in storing the
record (BENCHMARKS.md, the sixth session). This WSGI middleware, in front of the app, answers such a push
itself: it reads the body, checks the token's signature, and hands the rest to `ingest.push_direct`, which does
the same checks and writes as the full path (on PostgreSQL in the same two round trips). Anything out of the
ordinary — no Content-Length, another encoding, a body or token that is refused, a record to quarantine, an
outage gap to re-evaluate, a race, an error of its own — and it changes nothing and passes the request, body
and all, to the app, whose full path answers it (its errors, its logging). A push is idempotent, so even one
taken again after a failure here is answered as it would have been the first time.

The answer is the full path's: the same JSON, status and headers (security headers, no-store, gzip as
Flask-Compress would choose it); tests/api/test_direct_push.py holds the two side by side.
"""
import io

import orjson
from flask_compress.flask_compress import _choose_algorithm, _compress_data

from . import jsonread
from .api import PUSH_AUTH, gunzipped
from .auth import DeferredAuth, verify_token
from .errors import ApiError
from .extensions import compress
from .ingest import direct_capable, push_direct
from .web import HSTS, SECURITY_HEADERS

PATH = "/api/sync/push"


class DirectPush:
    """WSGI middleware: `POST /api/sync/push` through ingest.push_direct where it can, else the app."""

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self._engine_fits = None  # known at the first push (the engine needs the app context)
        # The process's first request goes through the app even if it is a push: what a process starts on its
        # first request (the outage pulse, a before_request hook) must not wait for a request of another kind.
        self._app_served = False

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST" \
                or not self.app.config["PUSH_DIRECT"] or self._engine_fits is False or not self._app_served:
            self._app_served = True
            return self.wsgi_app(environ, start_response)
        data = _read(environ, self.app.config["MAX_CONTENT_LENGTH"])
        if data is None:  # nothing read: the app reads it (and answers 411/413)
            return self.wsgi_app(environ, start_response)
        answer = None
        try:
            with self.app.app_context():
                if self._engine_fits is None:
                    self._engine_fits = direct_capable()
                if self._engine_fits:
                    answer = self._push(environ, data)
        except Exception:  # a fault of its own: the full path answers (a push may be taken twice)
            self.app.logger.warning("direct push failed; the full path answers it", exc_info=True)
        if answer is None:
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
            return self.wsgi_app(environ, start_response)
        start_response("200 OK", self._headers(environ, answer))
        return [answer[0]]

    def _push(self, environ, data):
        """(JSON bytes, Content-Encoding or None) of the answer, or None for the full path."""
        header = environ.get("HTTP_AUTHORIZATION", "")
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        encoding = environ.get("HTTP_CONTENT_ENCODING", "identity").lower()
        if not header.startswith("Bearer ") or mimetype != "application/json" or encoding not in ("identity", "gzip"):
            return None
        try:
            auth = DeferredAuth(verify_token(header[7:].strip()), **PUSH_AUTH)
            body = jsonread.loads(gunzipped(data) if encoding == "gzip" else data)
        except (ApiError, ValueError):  # the full path says why
            return None
        answer = push_direct(auth, body)
        if answer is None:
            return None
        payload = orjson.dumps(dict(answer, server_time=answer["server_time"].isoformat()))
        cfg = self.app.config
        algorithm = _choose_algorithm(compress.enabled_algorithms, environ.get("HTTP_ACCEPT_ENCODING", ""))
        if algorithm is None or len(payload) < cfg["COMPRESS_MIN_SIZE"] or \
                "application/json" not in compress.compress_mimetypes_set:
            return payload, None
        return _compress_data(self.app, payload, algorithm), algorithm

    def _headers(self, environ, answer):
        payload, encoding = answer
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                   ("Cache-Control", "no-store"), ("Vary", "Accept-Encoding")]
        if encoding:
            headers.append(("Content-Encoding", encoding))
        headers += SECURITY_HEADERS  # what web.security_headers adds to every answer of the app
        if environ.get("wsgi.url_scheme") == "https" or self.app.config["PREFERRED_URL_SCHEME"] == "https":
            headers.append(("Strict-Transport-Security", HSTS))
        return headers


def _read(environ, limit):
    """The request body, or None where the app should read it: no Content-Length (chunked), more than `limit`."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if length < 0 or length > limit:
        return None
    stream, chunks, left = environ["wsgi.input"], [], length
    while left > 0:
        chunk = stream.read(left)
        if not chunk:  # the client stopped sending: the app answers what it got
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
