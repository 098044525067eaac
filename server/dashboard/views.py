"""HTTP for the dashboards: parse the query, check the unit scope, call a query, answer JSON or CSV."""
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, Response, current_app, g, redirect, request, stream_with_context
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import or_, select

from ..access_log import log_access, log_denied
from ..api import json_body
from ..auth import require_auth
from ..errors import ApiError
from ..extensions import db, transactional
from ..models import Client, Device, Unit, User, utcnow
from ..schemas import ID, Day, Moment, QueryInt, SafeString
from . import access_review, charts, csvexport, outage_figures, queries
from .models import AccessCheck

bp = Blueprint("dashboard", __name__, url_prefix="/api/dashboard")
pages = Blueprint("dashboard_pages", __name__)  # the pages themselves are static files in pwa/admin/

STAFF = ("manager", "admin")


def jsonable(value):
    """Datetimes as ISO 8601 UTC with Z (the protocol's form), dates as YYYY-MM-DD, recursively."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


class UnitQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    unit_id = QueryInt(load_default=None)


class ListQuery(UnitQuery):
    limit = QueryInt(validate=validate.Range(min=1, max=2000), load_default=None)


class TrendQuery(UnitQuery):
    days = QueryInt(validate=validate.Range(min=2, max=90), load_default=None)


class PeriodQuery(UnitQuery):
    date_from = Day(data_key="from", load_default=None)
    date_to = Day(data_key="to", load_default=None)  # inclusive, a local calendar day

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("Startdatum måste vara före slutdatum.", "from")


class AccessLogQuery(PeriodQuery):
    client_id = QueryInt(load_default=None)
    user_id = QueryInt(load_default=None)
    outcome = fields.String(validate=validate.OneOf(("allowed", "denied")), load_default=None)
    limit = QueryInt(validate=validate.Range(min=1, max=1000), load_default=200)
    # The next page: the rows after the last one shown (its `at` and `id`, the answer's `next`), found from the
    # indexes wherever it is — an offset would read every row before it again.
    before_at = Moment(load_default=None)
    before_id = QueryInt(validate=validate.Range(min=1, max=2**63 - 1), load_default=None)

    @validates_schema
    def _cursor(self, data, **kwargs):
        if (data.get("before_at") is None) != (data.get("before_id") is None):
            raise ValidationError("Ange både before_at och before_id, eller ingen av dem.", "before_id")


class AccessCheckIn(Schema):
    date_from = Day(data_key="from", required=True)
    date_to = Day(data_key="to", required=True)
    client_id = fields.Integer(strict=True, validate=ID, load_default=None)
    user_id = fields.Integer(strict=True, validate=ID, load_default=None)
    note = SafeString(required=True, validate=validate.Length(min=3, max=4000))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["date_from"] > data["date_to"]:
            raise ValidationError("Startdatum måste vara före slutdatum.", "from")


def _deny(action, client_id=None, detail="other_unit"):
    """Refuse and log the attempt (access to another unit's data is itself worth a log line)."""
    log_denied(g.user, client_id, action, device_id=g.device.id, detail=detail)
    raise ApiError(403, "out_of_scope", "Du kan bara se uppgifter för din egen enhet.")


def _unit(args, action):
    """The viewer's unit; asking for another unit's figures is a 403 that is access-logged."""
    if args.get("unit_id") is not None and args["unit_id"] != g.user.unit_id:
        _deny(action, detail=f"other_unit:{args['unit_id']}")
    return db.session.get(Unit, g.user.unit_id)


def _check_client_and_user(args, unit, action):
    if args.get("client_id") is not None:
        client_unit = db.session.execute(select(Client.unit_id).where(Client.id == args["client_id"])).scalar()
        if client_unit != unit.id:
            _deny(action, client_id=args["client_id"],
                  detail="unknown_client" if client_unit is None else "other_unit")
    if args.get("user_id") is not None:
        user_unit = db.session.execute(select(User.unit_id).where(User.id == args["user_id"])).scalar()
        if user_unit != unit.id:
            _deny(action, detail=f"other_unit_user:{args['user_id']}")


def _period(args, default_days):
    """[start, end) in UTC from inclusive local dates; default: the last `default_days` days up to today."""
    today = utcnow().astimezone(queries.zone()).date()
    last = args.get("date_to") or today
    first = args.get("date_from") or (last - timedelta(days=default_days - 1))
    return first, last, queries.day_start_utc(first), queries.day_start_utc(last + timedelta(days=1))


def _unit_json(unit):
    return {"id": unit.id, "name": unit.name}


@bp.get("/backlog")
@require_auth(roles=STAFF)
def backlog():
    """Unsynced records on the unit's phones, silent phones, quarantine and gaps — as of now."""
    args = ListQuery().load(request.args)
    unit, now, cfg = _unit(args, "dashboard_backlog"), utcnow(), current_app.config
    totals = queries.backlog_totals(unit.id, now)
    gap_figures = queries.gaps(g.user, now)
    body = {"as_of": now, "unit": _unit_json(unit),
            "settings": {"silent_after_minutes": cfg["DEVICE_SILENT_MINUTES"]},
            "totals": totals, "gaps": gap_figures,
            "devices": queries.backlog_devices(unit.id, now, args["limit"] or cfg["DASHBOARD_LIST_LIMIT"])}
    if gap_figures.get("available"):
        routes = gap_figures["by_route"]
        body["charts"] = {"gaps": charts.bar_chart(
            "chart-gaps", "Öppna luckor per väg",
            [("Själv (medarbetare)", routes.get("self", 0), "ok"),
             ("Administratör", routes.get("admin", 0), "warn"),
             ("Beslut av chef", routes.get("decision", 0), "alert"),
             ("Försenade själv", gap_figures.get("overdue_self", 0), "alert"),
             ("Konflikter", gap_figures.get("open_conflicts", 0), "warn")], unit="st")}
    return jsonable(body)


@bp.get("/trends")
@require_auth(roles=STAFF)
def trends():
    """The last days as series and as SVG charts: is the backlog shrinking, do records sync sooner?"""
    args = TrendQuery().load(request.args)
    unit, now = _unit(args, "dashboard_trends"), utcnow()
    days = queries.trends(unit.id, now, args["days"] or current_app.config["DASHBOARD_TREND_DAYS"],
                          today_totals=queries.backlog_totals(unit.id, now))
    labels = [f"{int(d['day'][8:10])}/{int(d['day'][5:7])}" for d in days]

    def minutes(seconds):
        return None if seconds is None else round(seconds / 60, 1)

    body = {"as_of": now, "unit": _unit_json(unit), "days": days, "charts": {
        "backlog": charts.line_chart(
            "chart-backlog", "Osynkade poster per dag", labels,
            [charts.Series("Väntande poster", [d["pending_records"] for d in days]),
             charts.Series("Enheter med väntande", [d["devices_with_pending"] for d in days])], unit="st"),
        "delay": charts.line_chart(
            "chart-delay", "Synkfördröjning per dag (minuter)", labels,
            [charts.Series("Medel", [minutes(d["avg_sync_delay_seconds"]) for d in days])], unit="min"),
    }}
    return jsonable(body)


@bp.get("/readiness")
@require_auth(roles=STAFF)
def readiness():
    """Each phone's offline-copy age and whether it covers the coming shift; who would be without data."""
    args = ListQuery().load(request.args)
    unit, now = _unit(args, "dashboard_readiness"), utcnow()
    result = queries.readiness(unit.id, now, args["limit"] or current_app.config["DASHBOARD_LIST_LIMIT"])
    c = result["counts"]
    result["charts"] = {"states": charts.bar_chart(
        "chart-readiness", "Enheternas offline-kopia",
        [("Aktuell", c["ok"], "ok"), (f"Äldre än {result['copy_age_limit_minutes']} min", c["stale"], "alert"),
         ("Täcker inte alla besök", c["short"], "warn"), ("Ingen kopia", c["missing"], "alert")], unit="st")}
    return jsonable({"as_of": now, "unit": _unit_json(unit),
                     "settings": {"shift_hours": current_app.config["READINESS_SHIFT_HOURS"]}, **result})


@bp.get("/people")
@require_auth(roles=STAFF)
@transactional
def people():
    """The unit's clients (with address: two of a name are told apart), staff and devices (by name, not by
    their id), for the access-log search form and its table."""
    args = UnitQuery().load(request.args)
    unit = _unit(args, "dashboard_people")
    clients = db.session.execute(select(Client.id, Client.name, Client.address).where(Client.unit_id == unit.id)
                                 .order_by(Client.name, Client.address, Client.id)).all()
    users = db.session.execute(select(User.id, User.display_name, User.username, User.role)
                               .where(User.unit_id == unit.id).order_by(User.display_name)).all()
    devices = db.session.execute(select(Device.id, Device.name, Device.enrolled_at).where(Device.unit_id == unit.id)
                                 .order_by(Device.enrolled_at)).all()
    return jsonable({"unit": _unit_json(unit), "clients": [{"id": i, "name": n, "address": a} for i, n, a in clients],
                     "users": [{"id": i, "display_name": d, "username": u, "role": r} for i, d, u, r in users],
                     "devices": [{"id": i, "name": n, "enrolled_at": e} for i, n, e in devices]})


def _access_log_args(action):
    args = AccessLogQuery().load(request.args)
    unit = _unit(args, action)
    _check_client_and_user(args, unit, action)
    first, last, start, end = _period(args, 7)
    parts = access_review.access_log_parts(unit.id, start, end, args["client_id"], args["user_id"], args["outcome"])
    return args, unit, first, last, parts


@bp.get("/access-log")
@require_auth(roles=STAFF)
@transactional
def access_log():
    """Who opened which client's record, when, from which device, online or offline (HSLF-FS 2016:40)."""
    args, unit, first, last, parts = _access_log_args("access_log_review")
    cfg = current_app.config
    before = (args["before_at"], args["before_id"]) if args["before_id"] else None
    rows = list(access_review.access_log_rows(unit.id, or_(*parts), args["limit"] + 1, before))  # one more than
    more, rows = len(rows) > args["limit"], rows[:args["limit"]]  # shown tells whether there is a next page
    body = {"unit": _unit_json(unit), "from": first, "to": last, "counts": access_review.access_log_counts(parts),
            "rows": rows, "limit": args["limit"],
            "next": {"before_at": rows[-1]["at"], "before_id": rows[-1]["id"]} if more else None,
            "settings": {"retention_days": cfg["ACCESS_LOG_RETENTION_DAYS"],
                         "check_interval_days": cfg["ACCESS_CHECK_INTERVAL_DAYS"]}}
    # Reading the log shows client names: the review is itself logged (after the rows were read).
    log_access(g.user, args["client_id"], "access_log_review", device_id=g.device.id,
               detail=f"{first}..{last}" + (f" user:{args['user_id']}" if args["user_id"] else ""))
    return jsonable(body)


@bp.get("/access-log.csv")
@require_auth(roles=STAFF)
@transactional
def access_log_csv():
    args, unit, first, last, parts = _access_log_args("access_log_export")
    log_access(g.user, args["client_id"], "access_log_export", device_id=g.device.id, detail=f"{first}..{last}")
    name = f"atkomstlogg-{csvexport.slug(unit.name)}-{first}-{last}.csv"
    return _csv_response(csvexport.access_log_csv(access_review.access_log_rows(unit.id, or_(*parts)), queries.zone()), name)


@bp.get("/access-checks")
@require_auth(roles=STAFF)
def access_checks():
    """Documented checks of the access log, newest first, and whether the next one is due."""
    args = UnitQuery().load(request.args)
    unit, now = _unit(args, "access_checks"), utcnow()
    checks = access_review.access_checks(unit.id)
    interval = current_app.config["ACCESS_CHECK_INTERVAL_DAYS"]
    last = checks[0]["checked_at"] if checks else None
    due_at = None if last is None else last + timedelta(days=interval)
    return jsonable({"unit": _unit_json(unit), "checks": checks, "interval_days": interval,
                     "next_due_at": due_at, "overdue": last is None or due_at < now})


@bp.post("/access-checks")
@require_auth(roles=STAFF)
@transactional
def record_access_check():
    """Record that the access log was checked: the period and criteria, how many rows, and the finding."""
    args = UnitQuery().load(request.args)
    unit = _unit(args, "access_check")
    data = AccessCheckIn().load(json_body())
    _check_client_and_user(data, unit, "access_check")
    _, _, start, end = _period(data, 7)
    counts = access_review.access_log_counts(access_review.access_log_parts(unit.id, start, end, data["client_id"],
                                                                data["user_id"]))
    check = AccessCheck(unit_id=unit.id, checked_by=g.user.id, checked_at=utcnow(), period_from=start,
                        period_to=end, client_id=data["client_id"], user_id=data["user_id"],
                        rows_reviewed=counts["total"], denied_reviewed=counts["denied"], note=data["note"])
    db.session.add(check)
    db.session.flush()
    return jsonable(access_review.access_checks(unit.id, limit=1)[0]), 201


@bp.get("/registrations.csv")
@require_auth(roles=STAFF)
def registrations_csv():
    """Registrations per unit and period (for billing), each row with its source and flags."""
    args = PeriodQuery().load(request.args)
    unit = _unit(args, "registrations_export")
    first, last, start, end = _period(args, 31)
    log_access(g.user, None, "registrations_export", device_id=g.device.id, detail=f"{first}..{last}")
    db.session.commit()
    name = f"registreringar-{csvexport.slug(unit.name)}-{first}-{last}.csv"
    in_period = queries.visits_in_period(unit.id, start, end)
    rows = queries.registration_rows(unit.id, start, end, outage_figures.open_conflict_pairs(g.user, in_period))
    return _csv_response(csvexport.registrations_csv(rows, queries.zone()), name)


@pages.get("/admin")
@pages.get("/admin/")
def admin_home():
    """The managers' and administrators' entry point: the backlog page (it sends you to log in first)."""
    return redirect("/admin/index.html")


def _csv_response(chunks, filename):
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def register_openapi():
    """Add the dashboards to the OpenAPI document (query parameters straight from the schemas above)."""
    from .. import openapi

    openapi.EXTRA_SCHEMAS.update({"AccessCheckIn": AccessCheckIn})

    def op(summary, query=None, csv=False, body=None, ok="200"):
        return openapi.operation(summary, query, body, csv=csv, ok=ok, errors=(400, 401, 403, 422))

    openapi.EXTRA_PATHS.update({
        "/api/dashboard/backlog": {"get": op("Unsynced records on the unit's phones, silent phones, gaps", ListQuery)},
        "/api/dashboard/trends": {"get": op("Backlog and sync delay per local day, with SVG charts", TrendQuery)},
        "/api/dashboard/readiness": {"get": op("Offline-copy age and shift coverage per phone; who would be "
                                               "without data", ListQuery)},
        "/api/dashboard/people": {"get": op("The unit's clients and staff (for the log search)", UnitQuery)},
        "/api/dashboard/access-log": {"get": op("Access-log review (HSLF-FS 2016:40); the review is logged",
                                                AccessLogQuery)},
        "/api/dashboard/access-log.csv": {"get": op("The same as CSV (UTF-8 with BOM, ';')", AccessLogQuery, csv=True)},
        "/api/dashboard/access-checks": {
            "get": op("Documented access-log checks and when the next is due", UnitQuery),
            "post": op("Record that the access log was checked, with the finding", UnitQuery, body="AccessCheckIn",
                       ok="201")},
        "/api/dashboard/registrations.csv": {"get": op("Registrations per period with source and flags (billing)",
                                                       PeriodQuery, csv=True)},
    })
