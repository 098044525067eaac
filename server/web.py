"""Serves the PWA from `pwa/` at the site root, the health check, and security headers on every answer."""
import os

from flask import Blueprint, current_app, request, send_from_directory
from flask.sessions import SessionInterface
from sqlalchemy import text
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, UnicodeConverter

from .extensions import db

bp = Blueprint("web", __name__)

PWA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pwa")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "worker-src 'self'; manifest-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")

# Set on every answer unless the view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_SECURITY_HEADERS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS)  # for one pass
HSTS = "max-age=63072000; includeSubDomains"


@bp.get("/healthz")
def healthz():
    """200 when the database answers; load balancers and `make run` use it."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy", and says which
        db.session.rollback()
        return {"status": "error", "database": type(exc).__name__}, 503
    return {"status": "ok", "database": "ok"}


@bp.get("/")
def index():
    return _pwa_file("index.html")


@bp.get("/<path:path>")
def pwa_file(path):
    if path.startswith("api/"):
        raise NotFound()
    return _pwa_file(path)


def _pwa_file(path):
    response = send_from_directory(PWA_DIR, path, max_age=0)
    if path in ("sw.js", "index.html") or path.endswith(".webmanifest"):
        # The service worker and shell must be revalidated so a new version is found at once.
        response.headers["Cache-Control"] = "no-cache"
    if path.endswith(".webmanifest"):
        response.mimetype = "application/manifest+json"
    if path.endswith(".js") or path.endswith(".mjs"):
        response.mimetype = "text/javascript"
    return response


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in routes, limited to what the database's INTEGER holds: a bigger id is a 404, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("signed", True)  # so 0 and -5 reach the view and are a plain 404
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """`<name>` in routes without NUL, which PostgreSQL cannot compare: such a path is a 404/405, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


def init_app(app):
    app.url_map.converters["int"] = BoundedIntConverter  # before any blueprint adds its rules
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter
    app.session_interface = NoCookieSession()

    @app.after_request
    def security_headers(response):
        h = response.headers
        present = set(h.keys(lower=True))  # one pass over the headers instead of one per setdefault
        for lower, name, value in _SECURITY_HEADERS:
            if lower not in present:
                h.add(name, value)
        if "strict-transport-security" not in present and (
                request.is_secure or current_app.config["PREFERRED_URL_SCHEME"] == "https"):  # TLS, maybe at a proxy
            h.add("Strict-Transport-Security", HSTS)
        if "cache-control" not in present and response.mimetype == "application/json":
            h.add("Cache-Control", "no-store")  # client data must not linger in shared caches
        return response


class NoCookieSession(SessionInterface):
    """No cookie session: every API call carries its bearer token and the PWA keeps its state on the phone.
    Flask's null session stands in, so nothing sets a cookie by accident (writing to `flask.session` raises)
    and no request pays for looking for one (a signing serializer built per request)."""

    def open_session(self, app, request):
        return None  # Flask then uses make_null_session()

    def save_session(self, app, session, response):
        pass
