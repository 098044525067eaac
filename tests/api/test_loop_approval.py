"""Approval and export (issue 30): approving a period locks it, a later record for it goes to quarantine with a
clear reason, and the export's rows add up to exactly the registrations — on SQLite and PostgreSQL."""
import csv
import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.loop.approval import INTERVENTION_FIELDS, VISIT_FIELDS
from server.loop.models import Approval
from server.models import (AccessLog, InterventionRecord, QuarantinedEvent, Registration, Unit, Visit,
                           visit_interventions, visit_workers)
from tests.api.test_outages import at, iso, today, user_id, visits_of


def yesterday_visit_ids(app, unit_code="NORR"):
    with app.app_context():
        unit = db.session.scalar(select(Unit.id).where(Unit.code == unit_code))
        return db.session.scalars(select(Visit.id).where(Visit.unit_id == unit, Visit.planned_start >= at(-1, 0),
                                                         Visit.planned_start < at(0, 0))).all()


@pytest.fixture
def registered(app, auth, admin):
    """Yesterday: worker1 registered a visit on the phone and post-registered another; the administrator
    backfilled one of worker2's; one intervention done, one not done."""
    worker = auth.login("worker1")
    v1, v2 = visits_of(app, "worker1", at(-1, 10), at(-1, 13))[:2]
    with app.app_context():
        i1 = db.session.get(Visit, v1).interventions[0].id
    events = [worker.event("visit_started", {"visit_id": v1}, occurred_at=iso(at(-1, 10, 31))),
              worker.event("intervention_recorded", {"visit_id": v1, "intervention_id": i1, "status": "done"},
                           occurred_at=iso(at(-1, 10, 40))),
              worker.event("visit_ended", {"visit_id": v1}, occurred_at=iso(at(-1, 10, 56))),
              worker.event("visit_started", {"visit_id": v2, "at": iso(at(-1, 11, 30)), "adjust_reason": "Efterreg.",
                                             "post_registration": True}, occurred_at=iso(at(-1, 16, 0))),
              worker.event("visit_ended", {"visit_id": v2, "at": iso(at(-1, 12, 0)), "adjust_reason": "Efterreg.",
                                           "post_registration": True}, occurred_at=iso(at(-1, 16, 1)))]
    assert [r["status"] for r in worker.push(events).json["results"]] == ["applied"] * 5
    v3 = visits_of(app, "worker2", at(-1, 11), at(-1, 12))[0]
    with app.app_context():
        i3 = db.session.get(Visit, v3).interventions[0].id
    response = admin.post("/api/backfills", json={
        "visit_id": v3, "worker_id": user_id(app, "worker2"), "started_at": iso(at(-1, 11, 35)),
        "ended_at": iso(at(-1, 12, 5)), "information_source": "paper_form", "request_id": str(uuid.uuid4()),
        "interventions": [{"intervention_id": i3, "status": "not_done", "reason": "declined"}]})
    assert response.status_code in (200, 201), response.json
    return {"worker": worker, "v1": v1}


def yesterday():
    return (today() - timedelta(days=1)).isoformat()


def approve(manager, first=None, last=None):
    return manager.post("/api/loop/approvals", json={"from": first or yesterday(), "to": last or yesterday(),
                                                     "comment": "Kontrollerat mot schemat."})


def test_approval_locks_the_period_and_is_recorded(app, manager, registered):
    response = approve(manager)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["from"], body["to"], body["approved_by"]["id"]) == (yesterday(), yesterday(), manager.user["id"])
    assert body["lock_date_after"] == today().isoformat() and body["approved_at"]
    assert body["summary"]["by_source"] == {"device": 1, "self_registration": 1, "backfill": 1}
    with app.app_context():
        assert db.session.scalar(select(Unit.lock_date).where(Unit.code == "NORR")) == today()
        assert db.session.scalar(select(Unit.lock_date).where(Unit.code == "SODER")) is None
        assert db.session.scalar(select(func.count()).select_from(Approval)) == 1
    [listed] = manager.get("/api/loop/approvals").json["approvals"]
    assert listed["id"] == body["id"] and listed["comment"] == "Kontrollerat mot schemat."


def test_a_later_record_for_the_approved_period_goes_to_quarantine_with_the_reason(app, manager, registered):
    approve(manager)
    worker = registered["worker"]
    late = worker.event("visit_ended", {"visit_id": registered["v1"], "at": iso(at(-1, 11, 10)),
                                        "adjust_reason": "Glömde"}, occurred_at=iso(at(-1, 11, 9)))
    [result] = worker.push([late]).json["results"]
    assert (result["status"], result["code"]) == ("rejected", "before_lock_date")
    assert "spärrdatum" in result["message"]
    with app.app_context():
        kept = db.session.get(QuarantinedEvent, late["id"])
        assert kept.code == "before_lock_date" and kept.state == "open"
        reg = db.session.scalar(select(Registration).where(Registration.visit_id == registered["v1"]))
        assert abs(reg.ended_at - at(-1, 10, 56)) < timedelta(seconds=5)  # the approved figure stands (to skew)


def test_the_exports_totals_equal_the_registrations(app, manager, registered):
    approval_id = approve(manager).json["id"]
    export = manager.get(f"/api/loop/approvals/{approval_id}/export.json").json
    assert export["schema"] == "hemvard-export/1"
    visit_ids = yesterday_visit_ids(app)
    with app.app_context():
        pairs = db.session.scalar(select(func.count()).select_from(visit_workers)
                                  .where(visit_workers.c.visit_id.in_(visit_ids)))
        planned = db.session.scalar(
            select(func.count()).select_from(visit_interventions).join(
                visit_workers, visit_workers.c.visit_id == visit_interventions.c.visit_id)
            .where(visit_interventions.c.visit_id.in_(visit_ids)))
        regs = db.session.scalars(select(Registration).where(Registration.visit_id.in_(visit_ids))).all()
        minutes = sum(round((r.ended_at - r.started_at).total_seconds() / 60) for r in regs
                      if r.started_at and r.ended_at)
        done = db.session.scalar(select(func.count()).select_from(InterventionRecord).where(
            InterventionRecord.visit_id.in_(visit_ids), InterventionRecord.status == "done"))
        not_done = db.session.scalar(select(func.count()).select_from(InterventionRecord).where(
            InterventionRecord.visit_id.in_(visit_ids), InterventionRecord.status == "not_done"))
    assert len(export["visits"]) == export["totals"]["visit_rows"] == pairs
    assert sum(r["performed_minutes"] or 0 for r in export["visits"]) == export["totals"]["performed_minutes"] \
        == minutes == 25 + 30 + 30
    assert export["totals"]["performed"] == len(regs) == 3
    assert len(export["interventions"]) == export["totals"]["intervention_rows"] == planned
    assert (export["totals"]["interventions_done"], export["totals"]["interventions_not_done"]) == (done, not_done) \
        == (1, 1)
    assert {k: v for k, v in export["approval"]["summary"].items() if k in export["totals"]} == export["totals"]
    v1 = next(r for r in export["visits"] if r["visit_id"] == registered["v1"])
    assert (v1["performed_minutes"], v1["source"], v1["status"], v1["worker_username"]) == (
        25, "device", "performed", "worker1")
    assert v1["planned_start"].endswith(("+01:00", "+02:00"))

    for kind, fields, rows in (("visits", VISIT_FIELDS, export["visits"]),
                               ("interventions", INTERVENTION_FIELDS, export["interventions"])):
        text = manager.get(f"/api/loop/approvals/{approval_id}/export.csv?rows={kind}").get_data(as_text=True)
        table = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
        assert table[0] == list(fields) and len(table) - 1 == len(rows)
    minutes_csv = sum(int(r[VISIT_FIELDS.index("performed_minutes")] or 0) for r in csv.reader(io.StringIO(
        manager.get(f"/api/loop/approvals/{approval_id}/export.csv").get_data(as_text=True).lstrip("\ufeff")),
        delimiter=";") if r[0] != "unit_code")
    assert minutes_csv == minutes


def test_only_an_ended_period_can_be_approved_and_only_by_a_manager(app, manager, admin, registered):
    assert approve(manager, last=today().isoformat()).status_code == 409
    assert approve(admin).status_code == 403
    assert manager.post("/api/loop/approvals", json={"from": yesterday(), "to": "2026-02-30"}).status_code == 422
    assert manager.post("/api/loop/approvals", json={"from": yesterday(), "to": (today() - timedelta(days=2))
                                                     .isoformat()}).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Unit.lock_date).where(Unit.code == "NORR")) is None


def test_the_lock_date_never_moves_back(app, manager, registered):
    approve(manager)
    earlier = (today() - timedelta(days=3)).isoformat()
    body = approve(manager, first=earlier, last=earlier).json
    assert (body["lock_date_before"], body["lock_date_after"]) == (today().isoformat(), today().isoformat())


def test_preview_and_export_are_unit_scoped_and_logged(app, auth, manager, registered):
    preview = manager.get(f"/api/loop/approvals/preview?from={yesterday()}&to={yesterday()}").json
    assert preview["totals"]["performed"] == 3 and len(preview["visits"]) == preview["totals"]["visit_rows"]
    approval_id = approve(manager).json["id"]
    other = auth.login("manager2")
    assert other.get(f"/api/loop/approvals/{approval_id}/export.json").status_code == 403
    assert other.get(f"/api/loop/approvals/{approval_id}/export.csv").status_code == 403
    assert other.get("/api/loop/approvals").json["approvals"] == []
    south = other.get(f"/api/loop/approvals/preview?from={yesterday()}&to={yesterday()}").json
    assert not {r["visit_id"] for r in south["visits"]} & set(yesterday_visit_ids(app))
    manager.get(f"/api/loop/approvals/{approval_id}/export.json")
    with app.app_context():
        actions = {a for (a,) in db.session.execute(select(AccessLog.action).where(
            AccessLog.user_id == manager.user["id"]))}
    assert {"approval_preview", "approval", "approval_export"} <= actions


def test_an_open_backfill_versus_phone_conflict_blocks_the_approval_until_resolved(app, manager, admin, registered):
    v1, worker_id = registered["v1"], user_id(app, "worker1")
    backfill = admin.post("/api/backfills", json={  # the paper form says 10:00–10:20; the phone said 10:31–10:56
        "visit_id": v1, "worker_id": worker_id, "started_at": iso(at(-1, 10, 0)), "ended_at": iso(at(-1, 10, 20)),
        "information_source": "paper_form", "request_id": str(uuid.uuid4())})
    assert backfill.status_code in (200, 201), backfill.json
    preview = manager.get(f"/api/loop/approvals/preview?from={yesterday()}&to={yesterday()}").json
    assert preview["open_conflicts"] == 1
    refused = approve(manager)
    assert (refused.status_code, refused.json["code"]) == (409, "open_conflicts")
    with app.app_context():
        assert db.session.scalar(select(Unit.lock_date).where(Unit.code == "NORR")) is None
    resolved = admin.post("/api/conflicts/resolve", json={"visit_id": v1, "worker_id": worker_id,
                                                          "effective": "device", "note": "Telefonens tider stämmer."})
    assert resolved.status_code == 200, resolved.json
    approved = approve(manager)
    assert approved.status_code == 201 and approved.json["summary"]["open_conflicts"] == 0
