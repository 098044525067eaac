"""HTTP doors of the import: the planning system's POST /api/integration/import (integration token), the
administrator's upload (/api/admin/import) and the administrator's integration tokens. Thin: read, run, answer."""
import io
import json
import os

from flask import Blueprint, Response, current_app, g, request, stream_with_context
from marshmallow import validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..access_log import log_denied, log_reads
from ..api import json_body
from ..auth import require_auth
from ..errors import ApiError, error_body
from ..extensions import db, transactional
from ..manage import audit
from ..models import Client, Event, Unit, User, Visit
from ..schemas import SafeString, StrictSchema
from . import Outcome, import_steps, tokens
from .models import AuditEntry, IntegrationToken
from .read import file_tables, json_tables

bp = Blueprint("importer", __name__, url_prefix="/api")

MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 64 * 1024 * 1024))  # one upload: a unit's files, uncompressed
ADMIN = ("admin",)
NDJSON = "application/x-ndjson"
CANCELLED_LISTED = 200  # the most recent cancelled visits with records, on the Import page
AUDIT_LISTED = 200  # the most recent audit-trail entries on the Import page


class TokenIn(StrictSchema):
    name = SafeString(required=True, validate=validate.Length(min=1, max=120))


def run(read, **kwargs):
    """The import's steps (server.importer.import_steps): progress, then the outcome. What an apply wrote before
    a problem is rolled back; a concurrent import that wrote the same rows first is a 409 (nothing written)."""
    try:
        for step in import_steps(read, **kwargs):
            if isinstance(step, Outcome) and not step.ok:
                db.session.rollback()
            yield step
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "import_conflict", "En annan import ändrade samma uppgifter samtidigt. Försök igen.")


def outcome_of(steps):
    return next(step for step in steps if isinstance(step, Outcome))


@transactional
def answer(outcome, reader=None):
    """200 with the diff (committed), or 422 naming every problem (file, line, column) — nothing was written."""
    if not outcome.ok:
        errors = {f"{p.source}:{p.line}:{p.column}": [p.message] for p in outcome.problems}
        raise ApiError(422, "import_invalid", f"{len(outcome.problems)} fel; inget har ändrats.", errors,
                       problems=[p.as_dict() for p in outcome.problems])
    if reader is not None:  # the diff shows these clients' data: a read, in the access log
        log_reads(reader, outcome.client_ids, "import")
    return outcome.as_dict()


def streamed(steps, reader):
    """The admin page's answer as it comes (NDJSON): a line per progress step, then {"status", "body"} — the
    body the JSON answer would have had. A long import shows how far it has come; a proxy must not buffer."""
    def lines():
        try:
            for step in steps:
                if isinstance(step, Outcome):
                    yield json.dumps({"status": 200, "body": answer(step, reader)}) + "\n"
                else:
                    yield json.dumps({"progress": step.as_dict(), "text": str(step)}) + "\n"
        except ApiError as err:
            yield json.dumps({"status": err.status, "body": error_body(err.status, err.code, err.message,
                                                                       err.errors, **err.extra)}) + "\n"

    return Response(stream_with_context(lines()), mimetype=NDJSON,
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def dry_run_flag(value):
    if value not in (None, True, False, "1", "0", "true", "false"):
        raise ApiError(422, "validation_error", "Ogiltiga uppgifter i begäran.",
                       {"dry_run": ["Ange true eller false."]})
    return value in (True, "1", "true")


@bp.post("/integration/import")
@tokens.require_integration_token
def integration_import():
    """The planning system's import: {"dry_run": bool, "units": [{…}], "staff": […], …} for the token's units."""
    request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", MAX_BYTES)
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "validation_error", "Ogiltiga uppgifter i begäran.", {"_body": ["Ska vara ett objekt."]})
    token = g.integration_token
    return answer(outcome_of(run(lambda: json_tables(body), apply=not dry_run_flag(body.get("dry_run")),
                                 scope={u.id for u in token.units},
                                 actor={"name": f"integration: {token.name}"[:120], "token_id": token.id})))


@bp.post("/admin/import")
@require_auth(roles=ADMIN)
def admin_import():
    """An administrator's upload (multipart `files`, .csv or .xlsx; `dry_run`=1 to only see the diff), own unit.
    With `Accept: application/x-ndjson` (the admin page) the answer streams its progress first."""
    request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", MAX_BYTES)
    files = request.files.getlist("files")
    if not files:
        raise ApiError(422, "validation_error", "Välj minst en fil.", {"files": ["Välj minst en fil."]})
    dry_run = dry_run_flag(request.form.get("dry_run"))

    # read now: the request's files are closed once this view returns, before a streamed answer is made; an
    # upload is bounded (IMPORT_MAX_BYTES) and one unit's share of a municipality
    uploads = [(os.path.basename(f.filename or "fil"), f.read()) for f in files]

    def read():
        return [table for name, data in uploads for table in file_tables(name, lambda data=data: io.BytesIO(data))]

    steps = run(read, apply=not dry_run, scope={g.user.unit_id}, actor={"name": g.user.username, "user_id": g.user.id})
    if request.accept_mimetypes.best == NDJSON:
        return streamed(steps, g.user)
    return answer(outcome_of(steps), reader=g.user)


@bp.get("/admin/cancelled-visits")
@require_auth(roles=ADMIN)
@transactional
def cancelled_visits():
    """Cancelled visits of the own unit that someone recorded something for: kept, shown, never dropped."""
    visits = db.session.execute(
        select(Visit, Client.name).join(Client, Client.id == Visit.client_id)
        .where(Visit.unit_id == g.user.unit_id, Visit.cancelled.is_(True),
               Visit.id.in_(select(Event.visit_id).where(Event.unit_id == g.user.unit_id)))
        .order_by(Visit.planned_start.desc(), Visit.id).limit(CANCELLED_LISTED)).all()
    records = {}
    if visits:
        for event, worker in db.session.execute(
                select(Event, User.display_name).join(User, User.id == Event.user_id)
                .where(Event.visit_id.in_([v.id for v, _ in visits])).order_by(Event.occurred_at, Event.seq)):
            records.setdefault(event.visit_id, []).append({
                "type": event.type, "worker": worker, "source": event.source,
                "occurred_at": event.occurred_at.isoformat(), "received_at": event.received_at.isoformat()})
    log_reads(g.user, sorted({v.client_id for v, _ in visits}), "cancelled_visits")
    return {"visits": [{"id": v.id, "external_id": v.external_id, "client": {"id": v.client_id, "name": name},
                        "planned_start": v.planned_start.isoformat(), "planned_end": v.planned_end.isoformat(),
                        "records": records.get(v.id, [])} for v, name in visits]}


@bp.get("/admin/audit-trail")
@require_auth(roles=("admin", "manager"))
@transactional
def audit_trail():
    """The own unit's most recent changes (imports, tokens, by hand): who, when, what, before and after."""
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.unit_id == g.user.unit_id)
                                 .order_by(AuditEntry.id.desc()).limit(AUDIT_LISTED)).all()
    # client rows carry personal numbers and medication lists: showing them is a read of those clients
    log_reads(g.user, sorted({e.entity_id for e in entries if e.entity in ("client", "medications")}),
              "audit_trail")
    return {"entries": [audit.entry_out(e) for e in entries]}


def token_out(token, secret=None):
    out = {"id": token.id, "name": token.name, "hint": token.hint, "units": [u.name for u in token.units],
           "created_at": token.created_at.isoformat(), "revoked_at": token.revoked_at and token.revoked_at.isoformat(),
           "last_used_at": token.last_used_at and token.last_used_at.isoformat()}
    if secret:
        out["token"] = secret  # shown once; only its hash is stored
    return out


def own_tokens():
    return db.session.scalars(select(IntegrationToken).where(IntegrationToken.units.any(Unit.id == g.user.unit_id))
                              .order_by(IntegrationToken.id)).all()


@bp.get("/admin/integration-tokens")
@require_auth(roles=ADMIN)
def list_tokens():
    return {"tokens": [token_out(t) for t in own_tokens()]}


@bp.post("/admin/integration-tokens")
@require_auth(roles=ADMIN)
@transactional
def create_token():
    """A token for the administrator's own unit (a token for several units: `flask integration-token`)."""
    data = TokenIn().load(json_body())
    token, secret = tokens.create(data["name"], [db.session.get(Unit, g.user.unit_id)],
                                  {"name": g.user.username, "user_id": g.user.id})
    return token_out(token, secret), 201


@bp.post("/admin/integration-tokens/<int:token_id>/revoke")
@require_auth(roles=ADMIN)
@transactional
def revoke_token(token_id):
    token = next((t for t in own_tokens() if t.id == token_id), None)
    if token is None:
        if db.session.get(IntegrationToken, token_id) is not None:  # another unit's: answered as missing, logged
            log_denied(g.user, None, f"{request.method} {request.path}", detail="other_unit")
        raise ApiError(404, "not_found", "Integrationsnyckeln finns inte i din enhet.")
    tokens.revoke(token, {"name": g.user.username, "user_id": g.user.id})
    return token_out(token)


def _operation(summary, ok_schema, *errors, body=None, ok_code="200", params=()):
    """One OpenAPI operation: the answer's schema, the error codes (the one error shape; an import's 422 also
    lists its problems), the body."""
    operation = {"summary": summary, "security": [{"bearer": []}], "responses": {
        ok_code: {"description": "OK", "content": {"application/json": {"schema": ok_schema}}},
        **{str(code): {"description": "Error", "content": {"application/json": {
            "schema": IMPORT_ERROR if code == 422 and ok_schema is IMPORT_RESULT else
            {"$ref": "#/components/schemas/Error"}}}} for code in (401, 403, *errors)}}}
    if body:
        operation["requestBody"] = {"required": True, "content": body}
    if params:
        operation["parameters"] = [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
                                   for name in params]
    return operation


ROW_LIST = {"type": "array", "items": {"type": "object"}}
IMPORT_RESULT = {"type": "object", "properties": {
    "ok": {"type": "boolean"}, "applied": {"type": "boolean"}, "summary": {"type": "string"},
    "diff": {"type": "object"}, "problems": {"type": "array", "items": {"type": "object"}}}}
IMPORT_ERROR = {"type": "object", "properties": {
    "code": {"type": "string"}, "status": {"type": "integer"}, "message": {"type": "string"},
    "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    "problems": {"type": "array", "items": {"type": "object", "properties": {
        "file": {"type": "string"}, "line": {"type": "integer"}, "column": {"type": "string"},
        "message": {"type": "string"}}}}}}
TOKEN = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "hint": {"type": "string"},
    "units": {"type": "array", "items": {"type": "string"}}, "token": {"type": "string"}}}


def admin_import_operation():
    operation = _operation(
        "An administrator's upload of .csv/.xlsx files into the own unit; dry_run=1 shows the diff only. With "
        "Accept: application/x-ndjson the answer is 200 and streams a line per step ({progress, text}), then "
        "{status, body}: the status and body of the JSON answer", IMPORT_RESULT, 400, 409, 413, 422,
        body={"multipart/form-data": {"schema": {"type": "object", "properties": {
            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "dry_run": {"type": "string", "enum": ["0", "1"]}}}}})
    operation["responses"]["200"]["content"][NDJSON] = {"schema": {"type": "string"}}
    return operation


def register_openapi():
    from .. import openapi
    openapi.EXTRA_PATHS.update({
        "/api/integration/import": {"post": _operation(
            "The planning system's import (integration token, never a person's login): rows per kind, "
            "matched by external_id; dry_run shows the diff only", IMPORT_RESULT, 400, 409, 413, 415, 422,
            body={"application/json": {"schema": {"type": "object", "properties": dict(
                {k: ROW_LIST for k in ("units", "staff", "clients", "care_plans", "medications", "visits")},
                dry_run={"type": "boolean"})}}})},
        "/api/admin/import": {"post": admin_import_operation()},
        "/api/admin/audit-trail": {"get": _operation(
            "The own unit's most recent changes by imports and integration tokens (before and after)", {
                "type": "object", "properties": {"entries": {"type": "array", "items": {"type": "object"}}}})},
        "/api/admin/cancelled-visits": {"get": _operation(
            "Cancelled visits of the own unit with records made for them (kept, never dropped)", {
                "type": "object", "properties": {"visits": {"type": "array", "items": {"type": "object"}}}})},
        "/api/admin/integration-tokens": {
            "get": _operation("The own unit's integration tokens (never their secrets)", {
                "type": "object", "properties": {"tokens": {"type": "array", "items": TOKEN}}}),
            "post": _operation("Create an integration token for the own unit; its secret is shown once", TOKEN,
                               400, 422, ok_code="201", body={"application/json": {"schema": {
                                   "type": "object", "required": ["name"],
                                   "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 120}}}}})},
        "/api/admin/integration-tokens/{token_id}/revoke": {"post": _operation(
            "Revoke an integration token of the own unit: its next request gets 401", TOKEN, 404,
            params=("token_id",))},
    })


register_openapi()
