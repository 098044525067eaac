"""HTTP endpoints of the outage area. Thin: load and bound the input, call the job's module, dump the answer; each
route commits once through `transactional`."""
from flask import Blueprint, g, request
from sqlalchemy import func, select

from sync import rules
from sync.rule_settings import Policy
from sync.outages import short_notice

from ..api import json_body
from ..auth import require_auth
from ..extensions import db, transactional
from ..models import utcnow
from . import absences, backfill, conflicts, evaluation, facts, gaps, lifecycle, quarantine, unit_rules
from .models import Gap
from .schemas import (AbsenceIn, AbsenceOut, AbsencesQuery, BackfillIn, ConflictsQuery, DecisionOut, EndIn, GapOut,
                      GapsQuery, LockDateIn, OutageIn, OutageOut, OutagePatch, OutagesQuery, PolicyIn, QuarantineOut,
                      QuarantineQuery, QueueQuery, ReapplyIn, ReasonIn, ResolveIn, UnitRulesIn)

bp = Blueprint("outages", __name__, url_prefix="/api")

STAFF = ("admin", "manager")
ADMIN = ("admin",)
MANAGER = ("manager",)


def _outage_out(outage, now):
    a, own_rules = evaluation.assessment(outage, g.user, now)
    counts = dict(db.session.execute(
        select(Gap.route, func.count()).where(Gap.outage_id == outage.id, Gap.unit_id == g.user.unit_id,
                                              Gap.state == rules.STATE_OPEN).group_by(Gap.route)).all())
    data = OutageOut().dump(outage)
    data.update({"ongoing": a.ongoing, "elapsed_minutes": int(a.elapsed.total_seconds() // 60),
                 "threshold_minutes": int(own_rules.threshold.total_seconds() // 60), "long": a.long,
                 "needs_decision": outage.status == "confirmed" and a.needs_decision,
                 "short_notice": short_notice(outage.started_at, outage.announced_at)
                 if outage.kind == rules.PLANNED and outage.announced_at else None,
                 "gap_counts": {route: counts.get(route, 0) for route in rules.ROUTES}})
    return data


def _gaps_out(gaps, now):
    return GapOut(many=True, tz=facts.tz(), now=now).dump(gaps)


def _query(schema):
    """The query string, loaded by its schema (unknown parameters are ignored; bad values are a 422 naming them)."""
    return schema.load(request.args)


# ---------------------------------------------------------------------------------------------- outages

@bp.get("/outages")
@require_auth(roles=STAFF)
@transactional
def list_outages():
    now = utcnow()
    query = _query(OutagesQuery())
    outages = lifecycle.list_outages(g.user, query.get("status"), query.get("needs_decision"), now)
    body = {"outages": [_outage_out(o, now) for o in outages]}
    return body


@bp.post("/outages")
@require_auth(roles=ADMIN)
@transactional
def create_outage():
    now = utcnow()
    outage = lifecycle.create_outage(g.user, OutageIn().load(json_body()), now)
    return _outage_out(outage, now), 201


@bp.get("/outages/<int:outage_id>")
@require_auth(roles=STAFF)
@transactional
def get_outage(outage_id):
    now = utcnow()
    outage = lifecycle.get_outage(g.user, outage_id)
    evaluation.evaluate(outage, now, "read")
    body = _outage_out(outage, now)
    return body


@bp.patch("/outages/<int:outage_id>")
@require_auth(roles=ADMIN)
@transactional
def update_outage(outage_id):
    now = utcnow()
    outage = lifecycle.get_outage(g.user, outage_id)
    outage = lifecycle.update_outage(g.user, outage, OutagePatch().load(json_body()), now)
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/end")
@require_auth(roles=ADMIN)
@transactional
def end_outage(outage_id):
    now = utcnow()
    outage = lifecycle.get_outage(g.user, outage_id)
    data = EndIn().load(json_body(optional=True))
    outage = lifecycle.end_outage(g.user, outage, data.get("ended_at"), now)
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/confirm")
@require_auth(roles=ADMIN)
@transactional
def confirm_outage(outage_id):
    now = utcnow()
    outage = lifecycle.confirm_outage(g.user, lifecycle.get_outage(g.user, outage_id), now)
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/dismiss")
@require_auth(roles=ADMIN)
@transactional
def dismiss_outage(outage_id):
    now = utcnow()
    data = ReasonIn().load(json_body())
    outage = lifecycle.dismiss_outage(g.user, lifecycle.get_outage(g.user, outage_id), data["reason"], now)
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/withdraw")
@require_auth(roles=ADMIN)
@transactional
def withdraw_outage(outage_id):
    now = utcnow()
    data = ReasonIn().load(json_body())
    outage = lifecycle.withdraw_outage(g.user, lifecycle.get_outage(g.user, outage_id), data["reason"], now)
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/policy")
@require_auth(roles=MANAGER)
@transactional
def decide_policy(outage_id):
    now = utcnow()
    data = PolicyIn().load(json_body())
    outage = lifecycle.decide_policy(g.user, lifecycle.get_outage(g.user, outage_id), data, now)
    return _outage_out(outage, now)


@bp.get("/outages/<int:outage_id>/gaps")
@require_auth(roles=STAFF)
@transactional
def outage_gaps(outage_id):
    now = utcnow()
    outage = lifecycle.get_outage(g.user, outage_id)
    evaluation.evaluate(outage, now, "read")
    query = _query(GapsQuery())
    found = gaps.gaps_of(outage, g.user, query.get("route"), query.get("state"))
    body = {"outage_id": outage.id, "gaps": _gaps_out(found, now)}
    return body


# ---------------------------------------------------------------------------------------------- gaps

@bp.get("/gaps/<int:gap_id>")
@require_auth(roles=("worker", "admin", "manager"))
@transactional
def gap_detail(gap_id):
    now = utcnow()
    gap = gaps.get_gap(g.user, gap_id)
    body = GapOut(tz=facts.tz(), now=now).dump(gap)
    body["history"] = DecisionOut(many=True).dump(gaps.history(gap))
    return body


@bp.get("/me/gaps")
@require_auth(roles=("worker",))
@transactional
def my_gaps():
    """The worker's "Att efterregistrera" list: what is still to register, by whom and by when."""
    now = utcnow()
    return {"as_of": now.isoformat().replace("+00:00", "Z"), "gaps": _gaps_out(gaps.my_gaps(g.user, now), now)}


@bp.get("/backfill-queue")
@require_auth(roles=STAFF)
@transactional
def backfill_queue():
    now = utcnow()
    query = _query(QueueQuery())
    queue = gaps.backfill_queue(g.user, now, outage_id=query.get("outage_id"), worker_id=query.get("worker_id"),
                                overdue=query.get("overdue"), route=query.get("route", rules.ROUTE_ADMIN))
    return {"gaps": _gaps_out(queue, now)}


@bp.post("/backfills")
@require_auth(roles=ADMIN)
@transactional
def create_backfill():
    now = utcnow()
    result = backfill.backfill(g.user, BackfillIn().load(json_body()), now)
    return result, 200 if result["duplicate"] else 201


# ---------------------------------------------------------------------------------------------- conflicts

@bp.get("/conflicts")
@require_auth(roles=STAFF)
@transactional
def list_conflicts():
    return {"conflicts": conflicts.conflicts(g.user, _query(ConflictsQuery()).get("state", "open"))}


@bp.post("/conflicts/resolve")
@require_auth(roles=ADMIN)
@transactional
def resolve_conflict():
    data = ResolveIn().load(json_body())
    result = conflicts.resolve_conflict(g.user, data["visit_id"], data["worker_id"], data["effective"], data["note"],
                                      utcnow())
    return result


# ---------------------------------------------------------------------------------------------- quarantine

@bp.get("/quarantine")
@require_auth(roles=STAFF)
@transactional
def list_quarantine():
    query = _query(QuarantineQuery())
    return {"records": QuarantineOut(many=True).dump(quarantine.quarantine(g.user, query.get("state", "open"),
                                                                          query.get("code")))}


@bp.post("/quarantine/<qid>/reapply")
@require_auth(roles=ADMIN)
@transactional
def reapply(qid):
    data = ReapplyIn().load(json_body())
    note = data.pop("note")
    q = quarantine.reapply(g.user, qid, data, note, utcnow())
    return QuarantineOut().dump(q)


@bp.post("/quarantine/<qid>/dismiss")
@require_auth(roles=ADMIN)
@transactional
def dismiss_quarantined(qid):
    data = ReasonIn().load(json_body())
    q = quarantine.dismiss_quarantined(g.user, qid, data["reason"], utcnow())
    return QuarantineOut().dump(q)


# ---------------------------------------------------------------------------------------------- absences

@bp.get("/absences")
@require_auth(roles=STAFF)
@transactional
def list_absences():
    query = _query(AbsencesQuery())
    return {"absences": AbsenceOut(many=True).dump(absences.absences(g.user, query.get("from_"), query.get("to")))}


@bp.post("/absences")
@require_auth(roles=STAFF)
@transactional
def mark_absent():
    data = AbsenceIn().load(json_body())
    rows = absences.mark_absent(g.user, data["worker_id"], data["from_"], data.get("to") or data["from_"],
                               data.get("reason"), utcnow())
    return {"absences": AbsenceOut(many=True).dump(rows)}, 201


@bp.delete("/absences/<int:absence_id>")
@require_auth(roles=STAFF)
@transactional
def remove_absence(absence_id):
    absences.remove_absence(g.user, absence_id, utcnow())
    return "", 204


# ---------------------------------------------------------------------------------------------- unit settings

@bp.get("/units/<int:unit_id>/outage-settings")
@require_auth(roles=STAFF)
@transactional
def unit_settings(unit_id):
    return unit_rules.unit_settings_view(g.user, unit_id)


@bp.put("/units/<int:unit_id>/lock-date")
@require_auth(roles=STAFF)
@transactional
def set_lock_date(unit_id):
    data = LockDateIn().load(json_body())
    unit_rules.set_lock_date(g.user, unit_id, data["lock_date"])
    return unit_rules.unit_settings_view(g.user, unit_id)


@bp.put("/units/<int:unit_id>/outage-rules")
@require_auth(roles=MANAGER)
@transactional
def set_unit_rules(unit_id):
    data = UnitRulesIn().load(json_body())
    if data.get("long_outage_policy"):
        data["long_outage_policy"] = Policy.from_dict(data["long_outage_policy"]).to_dict()
    unit_rules.set_unit_rules(g.user, unit_id, data)
    return unit_rules.unit_settings_view(g.user, unit_id)
