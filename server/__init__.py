"""Hemvård Offline server: the Flask application factory."""
import os
import secrets

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import errors, web
from .config import Config
from .extensions import compress, db, migrate
from .sealing import load_or_create_key, public_jwk

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def _secret_key(instance_path):
    """SECRET_KEY from the environment, else a random one kept in the instance folder (never in git)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    with open(path) as fh:
        return fh.read().strip()


def _database_url(instance_path):
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'hemvard.sqlite')}"
    if url.startswith("postgres://"):  # the form many hosts hand out
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, write-ahead log so readers don't block the writer, wait on locks."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def create_app(test_config=None):
    instance_path = os.path.abspath(os.environ.get("HEMVARD_INSTANCE") or os.path.join(os.getcwd(), "instance"))
    app = Flask(__name__, instance_path=instance_path, static_folder=None)
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    app.config.from_object(Config)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app.instance_path)
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    else:  # a pooled connection that PostgreSQL closed meanwhile (a restart) is replaced, not handed out
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    compress.init_app(app)
    errors.init_app(app)
    web.init_app(app)

    key = load_or_create_key(app.instance_path)
    app.extensions["outbox_key"] = key
    app.extensions["outbox_jwk"] = public_jwk(key)

    from . import models  # noqa: F401  (registers every table with the metadata)
    from . import api, cli, openapi
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    # -- more areas register their blueprints here --
    from . import dashboard; dashboard.init_app(app)  # managers' and administrators' dashboards
    from . import notify; notify.init_app(app)  # Web Push: subscriptions, outbox
    from . import outages; outages.init_app(app)  # outages, gaps, backfill, conflicts, quarantine (issue 4)
    from . import loop; loop.init_app(app)  # deviations, missed care, transfer back, approval (issue 30)
    from .importer import views as importer; app.register_blueprint(importer.bp)  # the import's doors (issue 29)
    from . import manage; manage.init_app(app)  # clients, staff, visits and enrolment codes by hand (issue 29)
    from . import access_log_retention; access_log_retention.init_app(app)  # the archive folder
    from . import jobs; jobs.init_app(app)  # `flask worker`: every background job, done once across workers
    from . import metrics; metrics.init_app(app)  # GET /metrics (off unless METRICS_TOKEN); counts every answer
    app.register_blueprint(web.bp)  # last: it serves the PWA for every other path
    cli.init_app(app)
    return app
