"""Several processes beat under one name (the worker's pulse, `flask outages-tick`, a pulse run again after a worker
died mid-job): one row, and a silence is proposed once, not per process."""
import threading
from datetime import datetime, timedelta, timezone

from server.extensions import db
from server.outages import evidence
from server.outages.models import Heartbeat, Outage


def test_concurrent_beats_after_a_silence_propose_it_once(app):
    with app.app_context():
        evidence.heartbeat(datetime.now(timezone.utc) - timedelta(hours=2))
        db.session.commit()
    barrier = threading.Barrier(4)
    proposals, errors = [], []

    def server_process():
        with app.app_context():
            barrier.wait()
            try:
                proposal = evidence.heartbeat()
                db.session.commit()
                proposals.append(proposal.id if proposal else None)
            except Exception as exc:  # the race this test is about would surface here
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=server_process) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len([p for p in proposals if p is not None]) == 1
    with app.app_context():
        assert db.session.query(Heartbeat).count() == 1
        assert db.session.query(Outage).count() == 1


def test_the_first_beats_of_fresh_processes_do_not_collide(app):
    barrier = threading.Barrier(3)
    errors = []

    def first_beat():
        with app.app_context():
            barrier.wait()
            try:
                assert evidence.heartbeat() is None
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first_beat) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        assert db.session.query(Heartbeat).count() == 1
