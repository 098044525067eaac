"""HTTP endpoints of the outage area. Thin: load the input, call the service, commit, dump the answer."""
from flask import Blueprint, g, request
from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, select

from sync import rules
from sync.errors import InvalidInput
from sync.outages import short_notice

from ..api import json_body
from ..auth import require_auth
from ..extensions import db
from ..models import utcnow
from ..schemas import QueryInt, SafeString
from . import service
from .models import Gap
from .schemas import (AbsenceIn, AbsenceOut, BackfillIn, DecisionOut, EndIn, GapOut, InterventionIn, LockDateIn,
                      OutageIn, OutageOut, OutagePatch, PolicyIn, QuarantineOut, ReapplyIn, ReasonIn, ResolveIn,
                      UnitRulesIn, VisitBrief)

bp = Blueprint("outages", __name__, url_prefix="/api")

STAFF = ("admin", "manager")
ADMIN = ("admin",)
MANAGER = ("manager",)


def _outage_out(outage, now):
    a, unit_rules = service.assessment(outage, g.user, now)
    counts = dict(db.session.execute(
        select(Gap.route, func.count()).where(Gap.outage_id == outage.id, Gap.unit_id == g.user.unit_id,
                                              Gap.state == rules.STATE_OPEN).group_by(Gap.route)).all())
    data = OutageOut().dump(outage)
    data.update({"ongoing": a.ongoing, "elapsed_minutes": int(a.elapsed.total_seconds() // 60),
                 "threshold_minutes": int(unit_rules.threshold.total_seconds() // 60), "long": a.long,
                 "needs_decision": outage.status == "confirmed" and a.needs_decision,
                 "short_notice": short_notice(outage.started_at, outage.announced_at)
                 if outage.kind == rules.PLANNED and outage.announced_at else None,
                 "gap_counts": {route: counts.get(route, 0) for route in rules.ROUTES}})
    return data


def _gaps_out(gaps, now):
    return GapOut(many=True, tz=service.tz(), now=now).dump(gaps)


def _query_arg(name, field):
    """A query-string value read by a bounded field (server.schemas): a bad one is a 422 naming the parameter."""
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return field.deserialize(value)
    except ValidationError as err:
        raise InvalidInput("Ogiltig parameter.", errors={name: err.messages})


def _bool_arg(name):
    return _query_arg(name, fields.Boolean(truthy={"1", "true"}, falsy={"0", "false"},
                                           error_messages={"invalid": "Ange 1 eller 0."}))


def _choice_arg(name, choices):
    return _query_arg(name, fields.String(validate=validate.OneOf(choices, error=f"Ett av: {', '.join(choices)}.")))


def _int_arg(name):
    return _query_arg(name, QueryInt())


def _text_arg(name, max_length):
    return _query_arg(name, SafeString(validate=validate.Length(max=max_length)))


# ---------------------------------------------------------------------------------------------- outages

@bp.get("/outages")
@require_auth(roles=STAFF)
def list_outages():
    now = utcnow()
    status = _choice_arg("status", ("proposed", "confirmed", "dismissed"))
    outages = service.list_outages(g.user, status, _bool_arg("needs_decision"), now)
    body = {"outages": [_outage_out(o, now) for o in outages]}
    db.session.commit()
    return body


@bp.post("/outages")
@require_auth(roles=ADMIN)
def create_outage():
    now = utcnow()
    outage = service.create_outage(g.user, OutageIn().load(json_body()), now)
    db.session.commit()
    return _outage_out(outage, now), 201


@bp.get("/outages/<int:outage_id>")
@require_auth(roles=STAFF)
def get_outage(outage_id):
    now = utcnow()
    outage = service.get_outage(g.user, outage_id)
    service.evaluate(outage, now, "read")
    body = _outage_out(outage, now)
    db.session.commit()
    return body


@bp.patch("/outages/<int:outage_id>")
@require_auth(roles=ADMIN)
def update_outage(outage_id):
    now = utcnow()
    outage = service.get_outage(g.user, outage_id)
    outage = service.update_outage(g.user, outage, OutagePatch().load(json_body()), now)
    db.session.commit()
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/end")
@require_auth(roles=ADMIN)
def end_outage(outage_id):
    now = utcnow()
    outage = service.get_outage(g.user, outage_id)
    data = EndIn().load(json_body(optional=True))
    outage = service.end_outage(g.user, outage, data.get("ended_at"), now)
    db.session.commit()
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/confirm")
@require_auth(roles=ADMIN)
def confirm_outage(outage_id):
    now = utcnow()
    outage = service.confirm_outage(g.user, service.get_outage(g.user, outage_id), now)
    db.session.commit()
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/dismiss")
@require_auth(roles=ADMIN)
def dismiss_outage(outage_id):
    now = utcnow()
    data = ReasonIn().load(json_body())
    outage = service.dismiss_outage(g.user, service.get_outage(g.user, outage_id), data["reason"], now)
    db.session.commit()
    return _outage_out(outage, now)


@bp.post("/outages/<int:outage_id>/policy")
@require_auth(roles=MANAGER)
def decide_policy(outage_id):
    now = utcnow()
    data = PolicyIn().load(json_body())
    outage = service.decide_policy(g.user, service.get_outage(g.user, outage_id), data, now)
    db.session.commit()
    return _outage_out(outage, now)


@bp.get("/outages/<int:outage_id>/gaps")
@require_auth(roles=STAFF)
def outage_gaps(outage_id):
    now = utcnow()
    outage = service.get_outage(g.user, outage_id)
    service.evaluate(outage, now, "read")
    gaps = service.gaps_of(outage, g.user, _choice_arg("route", rules.ROUTES),
                           _choice_arg("state", (rules.STATE_OPEN, rules.STATE_CLOSED)))
    body = {"outage_id": outage.id, "gaps": _gaps_out(gaps, now)}
    db.session.commit()
    return body


# ---------------------------------------------------------------------------------------------- gaps

@bp.get("/gaps/<int:gap_id>")
@require_auth(roles=("worker", "admin", "manager"))
def gap_detail(gap_id):
    now = utcnow()
    gap = service.get_gap(g.user, gap_id)
    body = GapOut(tz=service.tz(), now=now).dump(gap)
    body["history"] = DecisionOut(many=True).dump(service.history(gap))
    return body


@bp.get("/me/gaps")
@require_auth(roles=("worker",))
def my_gaps():
    """The worker's "Att efterregistrera" list: what is still to register, by whom and by when."""
    now = utcnow()
    gaps = service.my_gaps(g.user, now)
    body = {"as_of": now, "gaps": _gaps_out(gaps, now)}
    db.session.commit()
    body["as_of"] = now.isoformat().replace("+00:00", "Z")
    return body


@bp.get("/backfill-queue")
@require_auth(roles=STAFF)
def backfill_queue():
    now = utcnow()
    gaps = service.backfill_queue(g.user, now, outage_id=_int_arg("outage_id"), worker_id=_int_arg("worker_id"),
                                  overdue=_bool_arg("overdue"),
                                  route=_choice_arg("route", rules.ROUTES + ("all",)) or rules.ROUTE_ADMIN)
    body = {"gaps": _gaps_out(gaps, now)}
    db.session.commit()
    return body


@bp.post("/backfills")
@require_auth(roles=ADMIN)
def create_backfill():
    now = utcnow()
    result = service.backfill(g.user, BackfillIn().load(json_body()), now)
    db.session.commit()
    return result, 200 if result["duplicate"] else 201


# ---------------------------------------------------------------------------------------------- conflicts

@bp.get("/conflicts")
@require_auth(roles=STAFF)
def list_conflicts():
    state = _choice_arg("state", ("open", "resolved", "all")) or "open"
    return {"conflicts": service.conflicts(g.user, state)}


@bp.post("/conflicts/resolve")
@require_auth(roles=ADMIN)
def resolve_conflict():
    data = ResolveIn().load(json_body())
    result = service.resolve_conflict(g.user, data["visit_id"], data["worker_id"], data["effective"], data["note"],
                                      utcnow())
    db.session.commit()
    return result


# ---------------------------------------------------------------------------------------------- quarantine

@bp.get("/quarantine")
@require_auth(roles=STAFF)
def list_quarantine():
    state = _choice_arg("state", ("open", "reapplied", "dismissed", "all")) or "open"
    return {"records": QuarantineOut(many=True).dump(service.quarantine(g.user, state, _text_arg("code", 32)))}


@bp.post("/quarantine/<qid>/reapply")
@require_auth(roles=ADMIN)
def reapply(qid):
    data = ReapplyIn().load(json_body())
    note = data.pop("note")
    q = service.reapply(g.user, qid, data, note, utcnow())
    db.session.commit()
    return QuarantineOut().dump(q)


@bp.post("/quarantine/<qid>/dismiss")
@require_auth(roles=ADMIN)
def dismiss_quarantined(qid):
    data = ReasonIn().load(json_body())
    q = service.dismiss_quarantined(g.user, qid, data["reason"], utcnow())
    db.session.commit()
    return QuarantineOut().dump(q)


# ---------------------------------------------------------------------------------------------- absences

@bp.get("/absences")
@require_auth(roles=STAFF)
def list_absences():
    first = service.parse_day(request.args["from"], "from") if "from" in request.args else None
    last = service.parse_day(request.args["to"], "to") if "to" in request.args else None
    return {"absences": AbsenceOut(many=True).dump(service.absences(g.user, first, last))}


@bp.post("/absences")
@require_auth(roles=STAFF)
def mark_absent():
    data = AbsenceIn().load(json_body())
    rows = service.mark_absent(g.user, data["worker_id"], data["from_"], data.get("to") or data["from_"],
                               data.get("reason"), utcnow())
    db.session.commit()
    return {"absences": AbsenceOut(many=True).dump(rows)}, 201


@bp.delete("/absences/<int:absence_id>")
@require_auth(roles=STAFF)
def remove_absence(absence_id):
    service.remove_absence(g.user, absence_id, utcnow())
    db.session.commit()
    return "", 204


# ---------------------------------------------------------------------------------------------- unit settings

@bp.get("/units/<int:unit_id>/outage-settings")
@require_auth(roles=STAFF)
def unit_settings(unit_id):
    return service.unit_settings_view(g.user, unit_id)


@bp.put("/units/<int:unit_id>/lock-date")
@require_auth(roles=STAFF)
def set_lock_date(unit_id):
    data = LockDateIn().load(json_body())
    service.set_lock_date(g.user, unit_id, data["lock_date"])
    db.session.commit()
    return service.unit_settings_view(g.user, unit_id)


@bp.put("/units/<int:unit_id>/outage-rules")
@require_auth(roles=MANAGER)
def set_unit_rules(unit_id):
    data = UnitRulesIn().load(json_body())
    if data.get("long_outage_policy"):
        data["long_outage_policy"] = rules.Policy.from_dict(data["long_outage_policy"]).to_dict()
    service.set_unit_rules(g.user, unit_id, data)
    db.session.commit()
    return service.unit_settings_view(g.user, unit_id)


# ---------------------------------------------------------------------------------------------- OpenAPI

def _op(summary, ok=None, *errors, body=None, ok_code="200", params=()):
    from .. import openapi
    operation = {"summary": summary, "security": [{"bearer": []}],
                 "responses": openapi._responses(ok, 401, 403, *errors, ok=ok_code) if ok else
                 {ok_code: {"description": "OK"}, **{str(c): {"description": "Error"} for c in (401, 403, *errors)}}}
    if body:
        operation["requestBody"] = openapi._json_body(body)
    if params:
        operation["parameters"] = [{"name": n, "in": where, "required": where == "path", "schema": {"type": t}}
                                   for n, where, t in params]
    return operation


def register_openapi():
    from .. import openapi
    openapi.EXTRA_SCHEMAS.update({"OutagePolicy": PolicyIn, "BackfillIntervention": InterventionIn,
                                  "GapVisit": VisitBrief, "OutageIn": OutageIn, "OutagePatch": OutagePatch,
                                  "Outage": OutageOut, "Gap": GapOut, "GapDecision": DecisionOut,
                                  "Backfill": BackfillIn, "ConflictResolve": ResolveIn, "QuarantineReapply": ReapplyIn,
                                  "Quarantined": QuarantineOut, "AbsenceIn": AbsenceIn, "Absence": AbsenceOut,
                                  "LockDate": LockDateIn, "UnitRules": UnitRulesIn, "Reason": ReasonIn, "OutageEnd": EndIn})
    oid = ("outage_id", "path", "integer")
    openapi.EXTRA_PATHS.update({
        "/api/outages": {
            "get": _op("Outages of the user's unit (and proposals from evidence)", None, 422,
                       params=(("status", "query", "string"), ("needs_decision", "query", "boolean"))),
            "post": _op("Declare a planned or unplanned outage (administrators)", "Outage", 400, 422,
                        body="OutageIn", ok_code="201")},
        "/api/outages/{outage_id}": {
            "get": _op("One outage with its assessment (elapsed, long, needs decision)", "Outage", 404, params=(oid,)),
            "patch": _op("Correct or extend an outage; its gaps are decided again", "Outage", 404, 409, 422,
                         body="OutagePatch", params=(oid,))},
        "/api/outages/{outage_id}/end": {"post": _op("End an ongoing outage", "Outage", 404, 409, 422,
                                                     body="OutageEnd", params=(oid,))},
        "/api/outages/{outage_id}/confirm": {"post": _op("Confirm a proposed outage", "Outage", 404, 409, params=(oid,))},
        "/api/outages/{outage_id}/dismiss": {"post": _op("Dismiss a proposed outage with a reason", "Outage", 404, 409,
                                                         422, body="Reason", params=(oid,))},
        "/api/outages/{outage_id}/policy": {"post": _op("A manager's policy for a long outage", "Outage", 404, 409, 422,
                                                        body="OutagePolicy", params=(oid,))},
        "/api/outages/{outage_id}/gaps": {"get": _op("Gaps: visit, worker, route, deadline, rule, explanation", None,
                                                     404, 422, params=(oid, ("route", "query", "string"),
                                                                       ("state", "query", "string")))},
        "/api/gaps/{gap_id}": {"get": _op("One gap with its decision history", "Gap", 404,
                                          params=(("gap_id", "path", "integer"),))},
        "/api/me/gaps": {"get": _op("The worker's 'Att efterregistrera' list")},
        "/api/backfill-queue": {"get": _op("The unit's backfill queue, most urgent first", None, 422, params=(
            ("route", "query", "string"), ("worker_id", "query", "integer"), ("outage_id", "query", "integer"),
            ("overdue", "query", "boolean")))},
        "/api/backfills": {"post": _op("Register a visit on a worker's behalf (source 'backfill')", None, 404, 409, 422,
                                       body="Backfill", ok_code="201")},
        "/api/conflicts": {"get": _op("Backfill-versus-device conflicts", None, 422,
                                      params=(("state", "query", "string"),))},
        "/api/conflicts/resolve": {"post": _op("Keep both records; choose the effective one", None, 404, 409, 422,
                                               body="ConflictResolve")},
        "/api/quarantine": {"get": _op("Rejected sync records with their reasons", None, 422,
                                       params=(("state", "query", "string"), ("code", "query", "string")))},
        "/api/quarantine/{qid}/reapply": {"post": _op("Correct a rejected record and apply it", "Quarantined", 404, 409,
                                                      422, body="QuarantineReapply", params=(("qid", "path", "string"),))},
        "/api/quarantine/{qid}/dismiss": {"post": _op("Dismiss a rejected record with a reason", "Quarantined", 404, 409,
                                                      422, body="Reason", params=(("qid", "path", "string"),))},
        "/api/absences": {"get": _op("Marked absences of the unit", None, 422),
                          "post": _op("Mark a worker absent (a day or a period)", None, 404, 422, body="AbsenceIn",
                                      ok_code="201")},
        "/api/absences/{absence_id}": {"delete": _op("Remove an absence", None, 404, ok_code="204",
                                                     params=(("absence_id", "path", "integer"),))},
        "/api/units/{unit_id}/outage-settings": {"get": _op("Lock date and effective post-registration rules", None, 404,
                                                            params=(("unit_id", "path", "integer"),))},
        "/api/units/{unit_id}/lock-date": {"put": _op("Set or clear the unit's lock date", None, 404, 422,
                                                      body="LockDate", params=(("unit_id", "path", "integer"),))},
        "/api/units/{unit_id}/outage-rules": {"put": _op("A manager's overrides of threshold, deadlines, standing policy",
                                                         None, 404, 422, body="UnitRules",
                                                         params=(("unit_id", "path", "integer"),))},
    })
