"""HTTP of closing the loop: parse the input, check the unit scope, call the module, log the opening, answer.

Every answer is the viewer's own unit's; every opening of a list or an item that shows clients is access-logged
(one row per client shown, HSLF-FS 2016:40), as is every export.
"""
from datetime import timedelta

from flask import Blueprint, g, request
from sqlalchemy import select

from sync.errors import OutOfScope

from ..access_log import log_access, log_reads
from ..api import json_body
from ..auth import require_auth
from ..dashboard.csvexport import slug
from ..dashboard.queries import day_start_utc, zone
from ..dashboard.views import jsonable
from ..extensions import db, transactional
from ..models import Client, Unit, utcnow
from . import approval, deviations, missed, transfer
from .csvfile import csv_response, local
from .schemas import ApprovalIn, DeviationQuery, ExportQuery, MissedQuery, PeriodIn, StatusIn, TransferMarkIn

bp = Blueprint("loop", __name__, url_prefix="/api/loop")

STAFF = ("manager", "admin")


def _period(args, default_days):
    """(first, last, start, end): inclusive local days and their [start, end) in UTC; default: the last
    `default_days` days up to today."""
    last = args.get("date_to") or utcnow().astimezone(zone()).date()
    first = args.get("date_from") or last - timedelta(days=default_days - 1)
    return first, last, day_start_utc(first), day_start_utc(last + timedelta(days=1))


def _check_client(client_id):
    if client_id is not None and db.session.scalar(select(Client.unit_id).where(Client.id == client_id)) \
            != g.user.unit_id:
        raise OutOfScope("Brukaren hör till en annan enhet.")  # 403, access-logged as a refusal


def _log_opening(action, client_ids, detail):
    """One access-log row per client the answer shows; one without a client when it shows none."""
    shown = sorted({c for c in client_ids if c is not None})
    if shown:
        log_reads(g.user, shown, action, device_id=g.device.id)
    else:
        log_access(g.user, None, action, device_id=g.device.id, detail=detail)


def _flag(value):
    return None if value is None else value == "1"


def _unit():
    unit = db.session.get(Unit, g.user.unit_id)
    return {"id": unit.id, "name": unit.name}


# ---------------------------------------------------------------------------------------------- deviations

def _deviation_rows(args):
    _check_client(args["client_id"])
    first, last, start, end = _period(args, 30)
    rows = deviations.list_rows(g.user.unit_id, start, end, args["status"], args["category"], args["client_id"],
                                _flag(args["offline"]))
    return first, last, rows


@bp.get("/deviations")
@require_auth(roles=STAFF)
@transactional
def list_deviations():
    """The unit's deviations in the period (when they happened), newest first, with counts per status."""
    args = DeviationQuery().load(request.args)
    first, last, rows = _deviation_rows(args)
    _log_opening("deviations_list", [r["client"] and r["client"]["id"] for r in rows], f"{first}..{last}")
    counts = {state: sum(r["status"] == state for r in rows) for state in deviations.STATUS_LABELS}
    return jsonable({"unit": _unit(), "from": first, "to": last, "counts": counts, "rows": rows,
                     "categories": deviations.CATEGORY_LABELS, "statuses": deviations.STATUS_LABELS})


DEVIATION_HEADER = ["Avvikelse-id", "Status", "Kategori", "Beskrivning", "Brukare", "Personnummer", "Besöks-id",
                    "Medarbetare", "Inträffade (telefonens tid, korrigerad)", "Telefonens klocka", "Rapporterad till servern",
                    "Registrerad offline", "Status ändrad av", "Status ändrad", "Kommentar"]


@bp.get("/deviations.csv")
@require_auth(roles=STAFF)
@transactional
def deviations_csv():
    args = DeviationQuery().load(request.args)
    first, last, rows = _deviation_rows(args)
    _log_opening("deviations_export", [r["client"] and r["client"]["id"] for r in rows], f"{first}..{last}")
    tz = zone()
    return csv_response(DEVIATION_HEADER, [
        [r["id"], r["status_label"], r["category_label"], r["description"], r["client"] and r["client"]["name"],
         r["client"] and r["client"]["personal_number"], r["visit"] and r["visit"]["id"],
         r["worker"]["display_name"], local(r["happened_at"], tz), r["happened_at_device"],
         local(r["reported_at"], tz), "ja" if r["offline"] else "nej",
         r["status_by"] and r["status_by"]["display_name"], local(r["status_at"], tz), r["status_comment"]]
        for r in rows], f"avvikelser-{slug(_unit()['name'])}-{first}-{last}.csv")


@bp.get("/deviations/<int:deviation_id>")
@require_auth(roles=STAFF)
@transactional
def get_deviation(deviation_id):
    deviation, row = deviations.detail(g.user, deviation_id)
    log_access(g.user, deviation.client_id, "deviation_open", device_id=g.device.id, detail=f"deviation:{deviation.id}")
    return jsonable(row)


@bp.post("/deviations/<int:deviation_id>/status")
@require_auth(roles=STAFF)
@transactional
def set_deviation_status(deviation_id):
    """Received (mottagen) or handled (hanterad, with a comment on what was done); the history keeps each step."""
    data = StatusIn().load(json_body())
    deviation = deviations.change_status(g.user, deviation_id, data["status"], data["comment"])
    log_access(g.user, deviation.client_id, "deviation_status", device_id=g.device.id,
               detail=f"deviation:{deviation.id}:{data['status']}")
    db.session.flush()
    return jsonable(deviations.detail(g.user, deviation.id)[1])


# ---------------------------------------------------------------------------------------------- missed care

def _missed_rows(args):
    _check_client(args["client_id"])
    first, last, start, end = _period(args, 7)
    return first, last, missed.rows(g.user.unit_id, start, end, _flag(args["medication"]) or False,
                                    args["client_id"])


@bp.get("/missed")
@require_auth(roles=STAFF)
@transactional
def list_missed():
    """Interventions recorded not done in the period, grouped by local day, medication first-class."""
    args = MissedQuery().load(request.args)
    first, last, rows = _missed_rows(args)
    _log_opening("missed_care_list", [r["client"]["id"] for r in rows], f"{first}..{last}")
    days = {}
    for r in rows:
        days.setdefault(r["day"], []).append(r)
    return jsonable({"unit": _unit(), "from": first, "to": last, "total": len(rows),
                     "medication": sum(r["medication"] for r in rows),
                     "days": [{"day": day, "rows": day_rows} for day, day_rows in days.items()]})


MISSED_HEADER = ["Datum", "Planerad start", "Besöks-id", "Brukare", "Personnummer", "Medarbetare", "Insats",
                 "Läkemedel", "Orsak", "Kommentar", "Källa"]


@bp.get("/missed.csv")
@require_auth(roles=STAFF)
@transactional
def missed_csv():
    args = MissedQuery().load(request.args)
    first, last, rows = _missed_rows(args)
    _log_opening("missed_care_export", [r["client"]["id"] for r in rows], f"{first}..{last}")
    tz = zone()
    return csv_response(MISSED_HEADER, [
        [r["day"].isoformat(), local(r["planned_start"], tz), r["visit_id"], r["client"]["name"],
         r["client"]["personal_number"], r["worker"]["display_name"], r["intervention"]["title"],
         "ja" if r["medication"] else "nej", r["reason_label"], r["comment"], r["source"]] for r in rows],
        f"utebliven-vard-{slug(_unit()['name'])}-{first}-{last}.csv")


# ---------------------------------------------------------------------------------------------- transfer back

def _outage_json(outage, now):
    return {"id": outage.id, "title": outage.title, "kind": outage.kind, "started_at": outage.started_at,
            "ended_at": outage.ended_at, "ongoing": outage.ended_at is None or outage.ended_at > now}


@bp.get("/transfer")
@require_auth(roles=STAFF)
@transactional
def transfer_summary():
    """Per recent outage of the unit: how many items there are to transfer and how many are left (counts only,
    for the dashboard); an outage's loop is closed when it has ended and nothing is left."""
    now, out = utcnow(), []
    for outage in transfer.recent_outages(g.user.unit_id, now):
        figures = transfer.counts(transfer.items(outage, g.user.unit_id, now))
        info = _outage_json(outage, now)
        out.append({"outage": info, **figures, "closed": not info["ongoing"] and figures["left"] == 0})
    return jsonable({"unit": _unit(), "as_of": now, "outages": out, "left": sum(o["left"] for o in out),
                     "open_outages": sum(not o["closed"] for o in out)})


@bp.get("/transfer/<int:outage_id>")
@require_auth(roles=STAFF)
@transactional
def transfer_list(outage_id):
    """Everything recorded in the outage's window to enter into the journal system, by client and visit."""
    now = utcnow()
    outage = transfer.get_outage(g.user, outage_id)
    item_list = transfer.items(outage, g.user.unit_id, now)
    _log_opening("transfer_list", [i["client_id"] for i in item_list], f"outage:{outage.id}")
    figures = transfer.counts(item_list)
    info = _outage_json(outage, now)
    return jsonable({"unit": _unit(), "as_of": now, "outage": info, "counts": figures,
                     "closed": not info["ongoing"] and figures["left"] == 0,
                     "clients": transfer.by_client(item_list)})


@bp.post("/transfer/<int:outage_id>/marks")
@require_auth(roles=STAFF)
@transactional
def transfer_mark(outage_id):
    """Tick items as transferred (överförd): who and when are kept per item."""
    data = TransferMarkIn().load(json_body())
    outage = transfer.get_outage(g.user, outage_id)
    transfer.mark(g.user, outage, data["item_keys"])
    db.session.flush()
    return jsonable(transfer.counts(transfer.items(outage, g.user.unit_id)))


@bp.post("/transfer/<int:outage_id>/unmarks")
@require_auth(roles=STAFF)
@transactional
def transfer_unmark(outage_id):
    """Untick items ticked by mistake."""
    data = TransferMarkIn().load(json_body())
    outage = transfer.get_outage(g.user, outage_id)
    transfer.unmark(g.user, outage, data["item_keys"])
    db.session.flush()
    return jsonable(transfer.counts(transfer.items(outage, g.user.unit_id)))


# ---------------------------------------------------------------------------------------------- approval & export

@bp.get("/approvals")
@require_auth(roles=STAFF)
@transactional
def list_approvals():
    """The unit's approvals, newest first, and its lock date (spärrdatum)."""
    unit = db.session.get(Unit, g.user.unit_id)
    return jsonable({"unit": _unit(), "lock_date": unit.lock_date, "approvals": approval.history(unit.id)})


@bp.get("/approvals/preview")
@require_auth(roles=STAFF)
@transactional
def preview_approval():
    """What approving first..last would approve: planned against performed time per visit and worker, with
    totals and what is still open (conflicts block the approval; gaps and quarantine are shown)."""
    args = PeriodIn().load(request.args)
    first, last = args["date_from"], args["date_to"]
    visit_rows, intervention_rows = approval.rows(g.user.unit_id, first, last)
    _log_opening("approval_preview", [r["client_id"] for r in visit_rows], f"{first}..{last}")
    return jsonable({"unit": _unit(), "from": first, "to": last,
                     "totals": approval.totals(visit_rows, intervention_rows),
                     **approval.open_matters(g.user, first, last), "visits": visit_rows})


@bp.post("/approvals")
@require_auth(roles=("manager",))
@transactional
def approve_period():
    """Approve a period that has ended: recorded with who, when and the totals, and the unit's lock date moves
    past it so later records for it go to quarantine."""
    data = ApprovalIn().load(json_body())
    record, _, _ = approval.approve(g.user, data["date_from"], data["date_to"], data["comment"])
    log_access(g.user, None, "approval", device_id=g.device.id, detail=f"approval:{record.id} "
               f"{record.period_from}..{record.period_to}")
    return jsonable(approval.as_json(record, {g.user.id: g.user.display_name})), 201


def _export(approval_id, action):
    record = approval.get(g.user, approval_id)
    visit_rows, intervention_rows = approval.rows(record.unit_id, record.period_from, record.period_to)
    _log_opening(action, [r["client_id"] for r in visit_rows], f"approval:{record.id}")
    return record, visit_rows, intervention_rows


@bp.get("/approvals/<int:approval_id>/export.json")
@require_auth(roles=STAFF)
@transactional
def export_json(approval_id):
    """The approved period in the stable schema: visits (one per visit and worker), interventions (one per
    planned intervention and worker), the totals now and as approved."""
    record, visit_rows, intervention_rows = _export(approval_id, "approval_export")
    return jsonable({"schema": approval.SCHEMA, "unit": _unit(), "approval": approval.as_json(record),
                     "totals": approval.totals(visit_rows, intervention_rows), "visits": visit_rows,
                     "interventions": intervention_rows})


@bp.get("/approvals/<int:approval_id>/export.csv")
@require_auth(roles=STAFF)
@transactional
def export_csv(approval_id):
    """The same rows as CSV (`rows=visits` or `rows=interventions`); the header is the schema's field names."""
    kind = ExportQuery().load(request.args)["rows"]
    record, visit_rows, intervention_rows = _export(approval_id, "approval_export")
    fields = approval.VISIT_FIELDS if kind == "visits" else approval.INTERVENTION_FIELDS
    data = visit_rows if kind == "visits" else intervention_rows
    name = f"attest-{slug(_unit()['name'])}-{record.period_from}-{record.period_to}-{kind}.csv"
    return csv_response(list(fields), [[r[f] for f in fields] for r in data], name)


def register_openapi():
    """Describe this area in the OpenAPI document (query parameters and bodies straight from the schemas)."""
    from .. import openapi

    openapi.EXTRA_SCHEMAS.update({"DeviationStatusIn": StatusIn, "TransferMarkIn": TransferMarkIn,
                                  "ApprovalIn": ApprovalIn})

    def op(summary, query=None, body=None, csv=False, ok="200", path_id=None, errors=(400, 401, 403, 404, 422)):
        return openapi.operation(summary, query, body, path_id, csv=csv, ok=ok, errors=errors)

    conflict = (400, 401, 403, 404, 409, 422)
    openapi.EXTRA_PATHS.update({
        "/api/loop/deviations": {"get": op("The unit's deviations with filters; each client shown is logged",
                                           DeviationQuery)},
        "/api/loop/deviations.csv": {"get": op("The same as CSV (UTF-8 with BOM, ';')", DeviationQuery, csv=True)},
        "/api/loop/deviations/{deviation_id}": {"get": op("One deviation with its status history",
                                                          path_id="deviation_id")},
        "/api/loop/deviations/{deviation_id}/status": {"post": op(
            "Move a deviation forward: received, or handled with a comment", body="DeviationStatusIn",
            path_id="deviation_id", errors=conflict)},
        "/api/loop/missed": {"get": op("Interventions not done per day (missed care)", MissedQuery)},
        "/api/loop/missed.csv": {"get": op("The same as CSV", MissedQuery, csv=True)},
        "/api/loop/transfer": {"get": op("Items left to transfer back per recent outage (counts only)")},
        "/api/loop/transfer/{outage_id}": {"get": op("Everything to enter into the journal system after an outage, "
                                                     "by client and visit", path_id="outage_id")},
        "/api/loop/transfer/{outage_id}/marks": {"post": op("Tick items as transferred (who, when)",
                                                            body="TransferMarkIn", path_id="outage_id")},
        "/api/loop/transfer/{outage_id}/unmarks": {"post": op("Untick items ticked by mistake",
                                                              body="TransferMarkIn", path_id="outage_id")},
        "/api/loop/approvals": {"get": op("The unit's approvals and lock date"),
                                "post": op("Approve an ended period (managers); sets the lock date", body="ApprovalIn",
                                           ok="201", errors=conflict)},
        "/api/loop/approvals/preview": {"get": op("Planned against performed per visit and worker for a period",
                                                  PeriodIn)},
        "/api/loop/approvals/{approval_id}/export.json": {"get": op("The approved period (schema hemvard-export/1)",
                                                                    path_id="approval_id")},
        "/api/loop/approvals/{approval_id}/export.csv": {"get": op("The approved period as CSV (rows=visits|"
                                                                   "interventions)", ExportQuery, csv=True,
                                                                   path_id="approval_id")},
    })
