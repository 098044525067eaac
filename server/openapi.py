"""The OpenAPI document, generated from the marshmallow schemas (the schemas are the contract)."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify

from . import schemas as s

bp = Blueprint("openapi", __name__)

# Other areas add their paths here: {"/api/x": {"get": {...}}}; their schemas to EXTRA_SCHEMAS.
EXTRA_PATHS = {}
EXTRA_SCHEMAS = {}


def responses(ok_schema, *errors, ok="200"):
    out = {ok: {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}}
    for code in errors:
        out[str(code)] = {"description": "Error", "content": {"application/json": {"schema": "Error"}}}
    return out


def json_request(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def operation(summary, query=None, body=None, path_id=None, csv=False, ok="200", errors=(401, 403, 404, 422),
              body_required=True):
    """One route as the areas document theirs: bearer security, an OK answer (a JSON object, or CSV), the error
    codes, query parameters straight from a marshmallow schema, an integer path id, a JSON body."""
    out = {"summary": summary, "security": [{"bearer": []}], "responses": responses({"type": "object"}, *errors, ok=ok)}
    if csv:
        out["responses"][ok]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    params = [{"in": "query", "schema": query}] if query is not None else []
    if path_id:
        params.append({"name": path_id, "in": "path", "required": True, "schema": {"type": "integer"}})
    if params:
        out["parameters"] = params
    if body:
        out["requestBody"] = json_request(body, body_required)
    return out


def build_spec():
    spec = APISpec(title="Hemvård Offline API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Sync protocol v1 — see docs/protocol.md."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    # Leaves first: apispec names nested schemas on first sight, and a second name would duplicate them.
    for name, schema in {"Error": s.ErrorSchema, "OutboxKey": s.OutboxKeySchema, "Client": s.ClientOut,
                         "Event": s.EventSchema, "SealedEvent": s.SealedEventSchema,
                         "TokenRequest": s.TokenRequestSchema, "TokenResponse": s.TokenResponseSchema,
                         "PushRequest": s.PushRequestSchema, "PushResponse": s.PushResponseSchema,
                         "PullResponse": s.PullResponseSchema, **EXTRA_SCHEMAS}.items():
        spec.components.schema(name, schema=schema)
    auth = [{"bearer": []}]
    spec.path("/api/auth/token", operations={"post": {
        "summary": "Log in on a device; returns a full token and a push-only token",
        "requestBody": json_request("TokenRequest"),
        "responses": responses("TokenResponse", 400, 401, 409, 422, 429)}})
    spec.path("/api/sync/outbox-key", operations={"get": {
        "summary": "The server's P-256 public key that devices seal events to",
        "responses": responses("OutboxKey")}})
    spec.path("/api/sync/pull", operations={"get": {
        "summary": "The worker's shift package (full, or changes since `cursor`)", "security": auth,
        "parameters": [{"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": responses("PullResponse", 401, 403, 422)}})
    spec.path("/api/sync/push", operations={"post": {
        "summary": "Deliver recorded events; exactly-once by event id", "security": auth,
        "requestBody": json_request("PushRequest"),
        "responses": responses("PushResponse", 400, 401, 403, 413, 422)}})
    spec.path("/api/devices/{device_id}/revoke", operations={"post": {
        "summary": "Block a lost phone of your unit: reads stop, its records still arrive (to quarantine)",
        "security": auth,
        "parameters": [{"name": "device_id", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}}],
        "responses": responses({"type": "object", "properties": {
            "id": {"type": "string"}, "revoked_at": {"type": "string", "format": "date-time"}}}, 401, 403, 404)}})
    spec.path("/api/devices/{device_id}/name", operations={"put": {
        "summary": "Rename a phone: a worker their own, administrators and managers their unit's",
        "security": auth,
        "parameters": [{"name": "device_id", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}}],
        "requestBody": json_request({"type": "object", "required": ["name"], "additionalProperties": False,
                                   "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 120}}}),
        "responses": responses({"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}}}, 400, 401, 403, 404, 422)}})
    spec.path("/api/clients/{client_id}", operations={"get": {
        "summary": "One client's record, unit-scoped and access-logged", "security": auth,
        "parameters": [{"name": "client_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": responses("Client", 401, 403, 404)}})
    spec.path("/healthz", operations={"get": {"summary": "Database reachable", "responses": {
        "200": {"description": "Healthy"}, "503": {"description": "Database unreachable"}}}})
    for path, operations in EXTRA_PATHS.items():
        spec.path(path, operations=operations)
    return _bound_path_ids(spec.to_dict())


def _bound_path_ids(doc):
    """Integer ids in paths are what the routes accept (`server.web.BoundedIntConverter`): say so."""
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for param in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = param.get("schema", {})
                if param.get("in") == "path" and schema.get("type") == "integer":
                    schema.setdefault("minimum", 1)
                    schema.setdefault("maximum", 2**31 - 1)
    return doc


@bp.get("/api/openapi.json")
def openapi_json():
    if "openapi_doc" not in current_app.extensions:
        current_app.extensions["openapi_doc"] = build_spec()
    return jsonify(current_app.extensions["openapi_doc"])
