"""`flask worker` as its own process: killed -9 in the middle of a send, restarted, the message arrives once."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from server.extensions import db
from server.notify import enqueue
from server.notify.models import PushDelivery
from support.push_fixtures import push_app, push_service, subscribe  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def start_worker(app, log_path):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "HEMVARD_INSTANCE": app.instance_path,
           "SECRET_KEY": "test-secret", "PUSH_ALLOW_HTTP": "1", "PUSH_ENDPOINT_HOSTS": "127.0.0.1",
           "PUSH_LEASE_SECONDS": "3", "PUSH_POLL_SECONDS": "0.2", "PUSH_SEND_TIMEOUT": "60",
           # only push delivery: the other jobs would write tables this test's fixtures do not restore
           "OUTAGE_HEARTBEAT_SECONDS": "0", "PUSH_CHECK_SECONDS": "0", "DASHBOARD_SNAPSHOT_SECONDS": "0",
           "RETENTION_SECONDS": "0"}
    log = open(log_path, "ab")
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "server", "worker"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return process


def delivery(app):
    with app.app_context():
        row = db.session.scalar(select(PushDelivery))
        result = (row.state, row.attempts) if row else None
        db.session.remove()
        return result


def test_a_worker_killed_mid_send_is_replaced_and_the_message_arrives_exactly_once(push_app, subscribe,
                                                                                 push_service, tmp_path):
    phone = subscribe("worker1")
    push_service.script(phone.subscriber, "hang")  # the first send never gets an answer
    with push_app.app_context():
        enqueue("outage_ended", [phone.user["id"]])
        db.session.commit()
        db.session.remove()
    log = tmp_path / "worker.log"

    first = start_worker(push_app, log)
    try:
        assert push_service.wait_until(lambda s: s.received >= 1), log.read_text()
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # dies holding the lease, before the push service accepted
        first.wait(timeout=10)
    assert push_service.messages_for(phone.subscriber) == []
    assert delivery(push_app) == ("pending", 1)

    second = start_worker(push_app, log)
    try:
        assert push_service.wait_until(lambda s: len(s.accepted) >= 1), log.read_text()
        time.sleep(1.5)  # several more passes of the loop: nothing is sent again
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
    assert ": stopped" in log.read_text()
    [message] = push_service.messages_for(phone.subscriber)
    assert message["payload"]["title"] == "Systemet är tillbaka"
    assert delivery(push_app) == ("delivered", 2)


def test_two_workers_side_by_side_send_each_message_once(push_app, subscribe, push_service, tmp_path):
    phones = [subscribe(u) for u in ("worker1", "worker2", "worker3", "worker4", "worker5", "worker6")]
    log = tmp_path / "workers.log"
    workers = [start_worker(push_app, log), start_worker(push_app, log)]
    try:
        with push_app.app_context():
            for kind in ("outage_started", "outage_ended"):
                enqueue(kind, [p.user["id"] for p in phones])
                db.session.commit()
            db.session.remove()
        assert push_service.wait_until(lambda s: len(s.accepted) >= 12, timeout=60), log.read_text()
        time.sleep(1.5)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        assert [w.wait(timeout=20) for w in workers] == [0, 0], log.read_text()
    for phone in phones:
        assert sorted(m["payload"]["kind"] for m in push_service.messages_for(phone.subscriber)) == \
            ["outage_ended", "outage_started"]
