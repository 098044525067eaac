"""Concurrent pushes that touch the same rows in opposite orders must not deadlock (found by the soak)."""
import threading

from server.extensions import db
from server.models import Event, InterventionRecord


def test_overlapping_batches_in_opposite_order_from_two_phones_of_one_worker_never_fail(app, auth):
    phone_a, phone_b = auth.login("worker1"), auth.login("worker1")
    visits = [v for v in phone_a.pull()["visits"] if v["interventions"]]
    phone_b.pull()
    statuses, rounds = [], 15
    for round_ in range(rounds):
        events = [phone_a.event("intervention_recorded", {"visit_id": v["id"], "intervention_id": iv["id"],
                                                          "status": "done", "comment": f"runda {round_}"})
                  for v in visits for iv in v["interventions"]]
        own_b = [phone_b.event("intervention_recorded", {"visit_id": v["id"], "intervention_id": iv["id"],
                                                         "status": "done"})
                 for v in visits for iv in v["interventions"]]
        # Phone A sends its batch; phone B (same worker) records the same interventions in reverse order,
        # and A's batch is resent at the same moment in reverse (a retry racing the first attempt).
        bodies = [(phone_a, phone_a.push_body(events)), (phone_b, phone_b.push_body(own_b[::-1])),
                  (phone_a, phone_a.push_body(events[::-1]))]
        barrier = threading.Barrier(len(bodies))

        def send(session, body):
            client = app.test_client()
            barrier.wait()
            statuses.append(client.post("/api/sync/push", json=body, headers=session.headers).status_code)

        threads = [threading.Thread(target=send, args=pair) for pair in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [200] * (3 * rounds)
    with app.app_context():
        per_round = sum(len(v["interventions"]) for v in visits)
        assert db.session.query(Event).count() == 2 * per_round * rounds
        assert db.session.query(InterventionRecord).count() == per_round
