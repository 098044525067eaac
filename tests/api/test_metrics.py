"""GET /metrics: off by default, behind its own bearer token, and each figure counts what it says."""
from datetime import datetime, timedelta, timezone

from prometheus_client.parser import text_string_to_metric_families

from server import jobs
from server.extensions import db
from server.jobs import Job
from server.notify import enqueue

TOKEN = "scrape-secret"


def scrape(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(figures, name, **labels):
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_unless_a_token_is_configured(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_need_the_configured_bearer_token(app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    assert "hemvard_http_requests_total" in client.get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)


def test_requests_are_counted_by_route_pattern_and_status(app, client, auth):
    app.config["METRICS_TOKEN"] = TOKEN
    worker = auth.login("worker1")
    before = scrape(client)
    worker.pull()
    assert worker.get("/api/clients/2147480000").status_code == 404
    assert worker.get("/api/clients/2147480001").status_code == 404
    after = scrape(client)
    pull = dict(name="hemvard_http_requests_total", method="GET", route="/api/sync/pull", status="200")
    missing = dict(name="hemvard_http_requests_total", method="GET", route="/api/clients/<int:client_id>",
                   status="404")
    assert value(after, **pull) - value(before, **pull) == 1
    assert value(after, **missing) - value(before, **missing) == 2


def test_push_verdicts_are_counted_once_the_push_is_answered(app, client, worker):
    app.config["METRICS_TOKEN"] = TOKEN
    visit = worker.package["visits"][0]
    start = worker.event("visit_started", {"visit_id": visit["id"]})
    before = scrape(client)
    assert worker.push([start]).status_code == 200
    answer = worker.push([start, worker.event("visit_started", {"visit_id": 2147480000})])
    assert [r["status"] for r in answer.json["results"]] == ["duplicate", "rejected"]
    after = scrape(client)
    for status, count in (("applied", 1), ("duplicate", 1), ("rejected", 1)):
        name = dict(name="hemvard_push_records_total", status=status)
        assert value(after, **name) - value(before, **name) == count, status


def test_the_database_figures_outbox_waiting_records_and_job_lag(app, client, worker):
    app.config["METRICS_TOKEN"] = TOKEN
    now = datetime.now(timezone.utc)
    oldest = now - timedelta(minutes=42)
    status = {"pending": 3, "device_clock": now.isoformat(), "app_version": "test",
              "oldest_pending_at": oldest.isoformat()}
    assert worker.client.post("/api/sync/push", headers=worker.headers, json={
        "protocol": 1, "device_id": worker.device_id, "events": [], "status": status}).status_code == 200
    with app.app_context():
        enqueue("outage_ended", [worker.user["id"]])
        jobs.ensure_jobs(now - timedelta(minutes=5))  # due five minutes ago, and no worker has run them
        db.session.commit()
        names = sorted(db.session.scalars(db.select(Job.name)))
    figures = scrape(client)
    assert value(figures, "hemvard_push_outbox_depth", stage="fan_out") == 1
    assert value(figures, "hemvard_push_outbox_depth", stage="delivery") == 0
    assert value(figures, "hemvard_phone_records_waiting") == 3
    assert 42 * 60 <= value(figures, "hemvard_phone_oldest_waiting_record_seconds") < 43 * 60 + 60
    for name in names:
        assert value(figures, "hemvard_job_lag_seconds", job=name) >= 300
