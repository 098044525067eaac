"""`GET /metrics` in Prometheus's text format (prometheus_client): what operations watch on every node.

Off unless `METRICS_TOKEN` is set (then 404), and then only with `Authorization: Bearer <token>`. Counters
(requests, push results) live in the process that counted them; under gunicorn, whose workers are separate
processes, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory (emptied at each start) and prometheus_client
adds up every worker's counters at each scrape — without it a scrape sees one worker's. The gauges are read
from the database at scrape time, so every node reports the same figures; nothing here names a person.
"""
import hmac
import os

from flask import Blueprint, Response, after_this_request, current_app, request
from prometheus_client import CollectorRegistry, Counter, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from sqlalchemy import func, select

from .errors import ApiError
from .extensions import db
from .models import Device, User, utcnow

bp = Blueprint("metrics", __name__)

REQUESTS = Counter("hemvard_http_requests", "HTTP requests answered, by route and status",
                   ["method", "route", "status"])
PUSH_RESULTS = Counter("hemvard_push_records", "Records phones pushed, by verdict (applied, duplicate, rejected)",
                       ["status"])


def count_request(response):
    """The app factory's after_request: one count per answer, by route pattern (not path: bounded labels)."""
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    return response


def count_push_results(results):
    """Count a push's verdicts once its answer is a success, i.e. after its one commit."""
    statuses = [r["status"] for r in results]

    @after_this_request
    def count(response):
        if response.status_code == 200:
            for status in statuses:
                PUSH_RESULTS.labels(status).inc()
        return response


class DatabaseFigures:
    """Gauges read at scrape time: the push outbox, records waiting on phones, the background jobs' lag."""

    def collect(self):
        from .jobs import job_lags
        from .notify.models import PushDelivery, PushNotification
        now = utcnow()
        outbox = GaugeMetricFamily("hemvard_push_outbox_depth",
                                   "Web Push notifications waiting: to be fanned out, deliveries to be sent",
                                   labels=["stage"])
        outbox.add_metric(["fan_out"], db.session.scalar(
            select(func.count()).select_from(PushNotification).where(PushNotification.fanned_out_at.is_(None))))
        outbox.add_metric(["delivery"], db.session.scalar(
            select(func.count()).select_from(PushDelivery).where(PushDelivery.state == "pending")))
        yield outbox
        live = (select(func.coalesce(func.sum(Device.status_pending), 0), func.min(Device.status_oldest_pending_at))
                .join(User, User.id == Device.user_id)
                .where(Device.revoked_at.is_(None), User.role == "worker", Device.status_pending > 0))
        waiting, oldest = db.session.execute(live).one()
        yield GaugeMetricFamily("hemvard_phone_records_waiting",
                                "Records on phones not yet synced (the phones' last status blocks)", value=waiting)
        yield GaugeMetricFamily("hemvard_phone_oldest_waiting_record_seconds",
                                "Age of the oldest record waiting on a phone (last status blocks)",
                                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        lag = GaugeMetricFamily("hemvard_job_lag_seconds", "How long a background job is overdue (0: on time)",
                                labels=["job"])
        for name, seconds in job_lags(now).items():
            lag.add_metric([name], seconds)
        yield lag


@bp.get("/metrics")
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        raise ApiError(404, "not_found", "Sidan finns inte.")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise ApiError(401, "unauthorized", "Fel eller saknad nyckel för mätvärden.",
                       headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's counters, added up
    else:
        registry.register(REQUESTS)
        registry.register(PUSH_RESULTS)
    registry.register(DatabaseFigures())
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # text, or OpenMetrics if asked
    body = encode(registry)
    db.session.rollback()  # the scrape only read; end its transaction
    return Response(body, content_type=content_type)


def init_app(app):
    app.config.setdefault("METRICS_TOKEN", os.environ.get("METRICS_TOKEN") or None)
    app.register_blueprint(bp)
    app.after_request(count_request)
