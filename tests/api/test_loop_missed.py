"""Missed care (issue 30): interventions not done are listed per day with reason and comment; a medication
hand-over that did not happen tells the responsible nurse at once."""
import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AccessLog, CarePlanIntervention, Client, User, Visit
from server.notify.models import PushNotification
from tests.api.test_loop_deviations import name_nurse


def user_id(username):
    return db.session.scalar(select(User.id).where(User.username == username))


@pytest.fixture
def visit(app, auth):
    """worker1's first visit, planned with a medication hand-over (LM) and one other intervention."""
    s = auth.login("worker1")
    first = s.pull()["visits"][0]
    with app.app_context():
        v = db.session.get(Visit, first["id"])
        lm = next((i for i in v.client.interventions if i.code == "LM"), None)
        if lm is None:
            lm = CarePlanIntervention(client_id=v.client_id, code="LM", title="Läkemedelsöverlämning",
                                      planned_minutes=10)
            db.session.add(lm)
        other = next(i for i in v.client.interventions if i.code != "LM")
        v.interventions = [lm, other]
        db.session.commit()
        ids = {"id": v.id, "client_id": v.client_id, "lm": lm.id, "other": other.id}
    s.pull()
    s.visit = ids
    return s


def record(s, intervention_id, status, reason=None, comment=None):
    payload = {"visit_id": s.visit["id"], "intervention_id": intervention_id, "status": status}
    payload.update({k: v for k, v in (("reason", reason), ("comment", comment)) if v})
    response = s.push([s.event("intervention_recorded", payload)])
    assert response.json["results"][0]["status"] == "applied", response.json


def told(app, kind="medication_missed"):
    with app.app_context():
        return db.session.scalars(select(User.username).join(PushNotification, PushNotification.user_id == User.id)
                                  .where(PushNotification.kind == kind)).all()


def test_a_declined_medication_is_listed_and_the_responsible_nurse_is_told(app, visit, manager):
    name_nurse(app, visit.visit["client_id"], "worker2")
    record(visit, visit.visit["lm"], "not_done", "declined", "Ville inte ta tabletterna i dag.")
    assert told(app) == ["worker2"]

    body = manager.get("/api/loop/missed").json
    assert (body["total"], body["medication"]) == (1, 1)
    [day] = body["days"]
    [row] = day["rows"]
    assert row["visit_id"] == visit.visit["id"] and row["intervention"]["code"] == "LM"
    assert (row["medication"], row["reason"], row["reason_label"]) == (True, "declined", "Avböjde")
    assert row["comment"] == "Ville inte ta tabletterna i dag." and row["worker"]["username"] == "worker1"
    assert row["day"] == day["day"]


def test_without_a_nurse_who_is_a_user_the_managers_are_told(app, visit):
    record(visit, visit.visit["lm"], "not_done", "client_absent")
    assert told(app) == ["manager1"]


def test_other_missed_care_is_listed_but_tells_nobody_and_done_medication_is_not_missed(app, visit, manager):
    record(visit, visit.visit["other"], "not_done", "other", "Brukaren sov.")
    record(visit, visit.visit["lm"], "done")
    assert told(app) == []
    body = manager.get("/api/loop/missed").json
    assert body["total"] == 1 and body["medication"] == 0
    assert body["days"][0]["rows"][0]["reason_label"] == "Annat"
    assert manager.get("/api/loop/missed?medication=1").json["total"] == 0
    csv_text = manager.get("/api/loop/missed.csv").get_data(as_text=True)
    assert "Brukaren sov." in csv_text and csv_text.splitlines()[0].lstrip("\ufeff").startswith("Datum;")


def test_a_later_done_replaces_not_done_in_the_list(app, visit, manager):
    record(visit, visit.visit["lm"], "not_done", "declined")
    record(visit, visit.visit["lm"], "done")
    assert manager.get("/api/loop/missed").json["total"] == 0


def test_missed_care_is_unit_scoped_and_its_opening_logged(app, auth, visit, manager):
    record(visit, visit.visit["lm"], "not_done", "declined")
    other = auth.login("manager2")
    assert other.get("/api/loop/missed").json["total"] == 0
    assert visit.visit["client_id"] and other.get(
        f"/api/loop/missed?client_id={visit.visit['client_id']}").status_code == 403
    assert manager.get("/api/loop/missed").json["total"] == 1
    with app.app_context():
        logged = db.session.execute(select(AccessLog.action, AccessLog.client_id)
                                    .where(AccessLog.user_id == manager.user["id"])).all()
    assert ("missed_care_list", visit.visit["client_id"]) in logged
