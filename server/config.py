"""Settings read from the environment, with safe defaults; every threshold of the product lives here."""
import os


def _int(name, default):
    return int(os.environ.get(name, default))


class Config:
    """Defaults for a single-node install; override any of them with an environment variable."""

    # Database: SQLite in the instance folder unless DATABASE_URL names another (PostgreSQL in production).
    SQLALCHEMY_DATABASE_URI = None  # resolved in create_app, it depends on the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {}

    # Tokens: how long a login stays valid on a device (a worker may be offline for a whole shift).
    TOKEN_MAX_AGE = _int("TOKEN_MAX_AGE", 3 * 24 * 3600)
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 10)  # per username and per address, per window
    LOGIN_FAILURE_WINDOW = _int("LOGIN_FAILURE_WINDOW", 15 * 60)
    # A one-time enrolment code an administrator sets (server/manage/enrolment.py) works this long, once.
    ENROLMENT_CODE_HOURS = _int("ENROLMENT_CODE_HOURS", 72)

    # Sync protocol.
    MAX_BATCH = _int("MAX_BATCH", 100)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    # Arrays and objects inside each other in a request body (a push needs 4): deeper is a 400 (api.json_body).
    JSON_MAX_DEPTH = _int("JSON_MAX_DEPTH", 32)
    CLOCK_SKEW_FLAG_SECONDS = _int("CLOCK_SKEW_FLAG_SECONDS", 300)
    # A record whose time, corrected by its phone's clock skew, lies outside [now - MAX_EVENT_AGE_DAYS,
    # now + MAX_EVENT_FUTURE_HOURS] is not plausible: it is quarantined, never applied.
    MAX_EVENT_AGE_DAYS = _int("MAX_EVENT_AGE_DAYS", 120)
    MAX_EVENT_FUTURE_HOURS = _int("MAX_EVENT_FUTURE_HOURS", 48)
    SHIFT_HORIZON_HOURS = _int("SHIFT_HORIZON_HOURS", 36)
    TIMEZONE = os.environ.get("TIMEZONE", "Europe/Stockholm")

    # What the PWA is told (TakeCare routine: the copy must not be older than one hour).
    COPY_AGE_WARN_MINUTES = _int("COPY_AGE_WARN_MINUTES", 60)
    COPY_AGE_ALERT_MINUTES = _int("COPY_AGE_ALERT_MINUTES", 12 * 60)
    PIN_MAX_ATTEMPTS = _int("PIN_MAX_ATTEMPTS", 5)
    AUTO_LOCK_MINUTES = _int("AUTO_LOCK_MINUTES", 5)
    PBKDF2_ITERATIONS = _int("PBKDF2_ITERATIONS", 600_000)  # OWASP 2023 for PBKDF2-HMAC-SHA256

    # Access logs (HSLF-FS 2016:40) are kept at least five years.
    ACCESS_LOG_RETENTION_DAYS = _int("ACCESS_LOG_RETENTION_DAYS", 5 * 366)

    # Responses are compressed for 4G; JSON and the app shell compress well.
    COMPRESS_MIMETYPES = ["application/json", "text/html", "text/css", "text/javascript",
                          "application/javascript", "application/manifest+json", "image/svg+xml"]
    COMPRESS_MIN_SIZE = 500
    COMPRESS_ALGORITHM = ["gzip"]
    # The PWA's files are sent as streams (send_from_directory); Flask-Compress uses a separate list for
    # streams whose default lacks gzip, which left the whole app shell uncompressed (tests/bench/bench_pwa.py).
    COMPRESS_ALGORITHM_STREAMING = ["gzip"]

    JSON_SORT_KEYS = False
    # Behind a TLS proxy set PREFERRED_URL_SCHEME=https; HSTS is then sent (see README, Security).
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
