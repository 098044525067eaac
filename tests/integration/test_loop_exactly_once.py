"""Closing the loop under concurrency, on a real database: a deviation and a missed medication pushed by two
phones of one worker at the same moment (and retried) make one deviation row and one notification each."""
import threading

from sqlalchemy import func, select

from server.extensions import db
from server.loop.models import Deviation
from server.models import CarePlanIntervention, Visit
from server.notify.models import PushNotification


def test_a_deviation_and_a_missed_medication_pushed_concurrently_are_told_once(app, auth):
    phone, tablet = auth.login("worker1"), auth.login("worker1")
    visit = phone.pull()["visits"][0]
    with app.app_context():
        v = db.session.get(Visit, visit["id"])
        lm = next((i for i in v.client.interventions if i.code == "LM"), None)
        if lm is None:
            lm = CarePlanIntervention(client_id=v.client_id, code="LM", title="Läkemedelsöverlämning",
                                      planned_minutes=10)
            db.session.add(lm)
        v.interventions = [lm]
        db.session.commit()
        lm_id = lm.id
    events = [phone.event("deviation_reported", {"category": "medication", "description": "Dosetten tom.",
                                                 "client_id": visit["client_id"], "visit_id": visit["id"]}),
              phone.event("intervention_recorded", {"visit_id": visit["id"], "intervention_id": lm_id,
                                                    "status": "not_done", "reason": "other", "comment": "Tom dosett"})]
    barrier = threading.Barrier(6)
    answers, failures = [], []

    def push(session):
        client = app.test_client()
        body = session.push_body(events)
        barrier.wait()
        for _ in range(3):
            r = client.post("/api/sync/push", json=body, headers=session.headers)
            if r.status_code == 200:
                answers.append([x["status"] for x in r.json["results"]])
                return
            failures.append(r.status_code)  # transient (a lock timeout): the phone retries
        answers.append(None)

    threads = [threading.Thread(target=push, args=(s,)) for s in (phone, tablet) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert None not in answers, failures
    assert sum(a.count("applied") for a in answers) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deviation)) == 1
        kinds = db.session.scalars(select(PushNotification.kind).order_by(PushNotification.kind)).all()
        assert kinds == ["deviation_reported", "medication_missed"]  # manager1 each: no nurse is a user
