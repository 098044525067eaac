"""The outage area's part of the OpenAPI document."""
from .schemas import (AbsenceIn, AbsenceOut, BackfillIn, DecisionOut, EndIn, GapOut, InterventionIn, LockDateIn,
                      OutageIn, OutageOut, OutagePatch, PolicyIn, QuarantineOut, ReapplyIn, ReasonIn, ResolveIn,
                      UnitRulesIn, VisitBrief)


def _op(summary, ok=None, *errors, body=None, ok_code="200", params=()):
    from .. import openapi
    operation = {"summary": summary, "security": [{"bearer": []}],
                 "responses": openapi.responses(ok, 401, 403, *errors, ok=ok_code) if ok else
                 {ok_code: {"description": "OK"}, **{str(c): {"description": "Error"} for c in (401, 403, *errors)}}}
    if body:
        operation["requestBody"] = openapi.json_request(body)
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
        "/api/outages/{outage_id}/withdraw": {"post": _op("Withdraw an outage registered by mistake (kept with who, "
                                                          "when and why; its open gaps are closed)", "Outage", 404,
                                                          409, 422, body="Reason", params=(oid,))},
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
