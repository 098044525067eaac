"""The device API: login, pull of the shift package, push of recorded events. Thin: parse, call, answer."""
import json
import zlib

from flask import Blueprint, current_app, g, jsonify, request

from .access_log import log_denied
from .auth import check_login, issue_token, require_auth, token_expiry
from .errors import ApiError
from .extensions import db, transactional
from .ingest import push
from .manage import audit
from .metrics import count_push_results
from .models import Device, utcnow
from .schemas import (ClientOut, DeviceNameSchema, PullQuerySchema, PullResponseSchema, PushResponseSchema,
                      TokenRequestSchema,
                      TokenResponseSchema)
from .shift import client_for, shift_package

bp = Blueprint("api", __name__, url_prefix="/api")


def gunzipped(data):
    """A request body the phone gzipped (`Content-Encoding: gzip`), inflated to at most MAX_CONTENT_LENGTH."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit)
    except zlib.error:
        raise ApiError(400, "invalid_encoding", "Begärans gzip-data är trasig.", {"_body": ["Ogiltig gzip."]})
    if inflater.unconsumed_tail:
        raise ApiError(413, "too_large", "Begäran är för stor uppackad.", max_bytes=limit)
    if not inflater.eof:
        raise ApiError(400, "invalid_encoding", "Begärans gzip-data är ofullständig.", {"_body": ["Ogiltig gzip."]})
    return out


def json_body(optional=False):
    """The request's JSON document, as every JSON endpoint reads it: gzip inflated, nesting at most
    JSON_MAX_DEPTH deep; anything else a 400 naming the body (`optional`: no body at all is {})."""
    encoding = (request.content_encoding or "identity").lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(415, "unsupported_encoding", "Bara gzip stöds som Content-Encoding.")
    data = request.get_data(cache=False)
    if optional and not data:
        return {}
    if encoding == "gzip":
        data = gunzipped(data)
    body = None
    if request.is_json:
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser itself goes
            body = None
    if body is None:
        raise ApiError(400, "invalid_json", "Begäran måste vara JSON.", {"_body": ["Ogiltig eller saknad JSON."]})
    limit = current_app.config["JSON_MAX_DEPTH"]
    if data.count(b"[") + data.count(b"{") > limit and _deeper_than(body, limit):
        raise ApiError(400, "invalid_json", "Begärans JSON är för djupt nästlad.",
                       {"_body": [f"JSON får vara nästlad högst {limit} nivåer."]})
    return body


def _deeper_than(value, limit):
    """Whether arrays and objects nest more than `limit` deep in a parsed document (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def client_settings():
    cfg = current_app.config
    return {"copy_age_warn_minutes": cfg["COPY_AGE_WARN_MINUTES"],
            "copy_age_alert_minutes": cfg["COPY_AGE_ALERT_MINUTES"], "max_batch": cfg["MAX_BATCH"],
            "pin_max_attempts": cfg["PIN_MAX_ATTEMPTS"], "auto_lock_minutes": cfg["AUTO_LOCK_MINUTES"],
            "pbkdf2_iterations": cfg["PBKDF2_ITERATIONS"], "timezone": cfg["TIMEZONE"]}


@bp.post("/auth/token")
@transactional
def token():
    """Log in on a device: enrols the device (or re-enrols it for the same user) and issues its tokens."""
    data = TokenRequestSchema().load(json_body())
    user = check_login(data["username"], data["password"], request.remote_addr or "-")
    device = db.session.get(Device, data["device_id"])
    if device is not None and (device.user_id != user.id or device.revoked_at is not None):
        # Another person's phone, or a revoked one: the id is burnt; the app makes a new one and logs in again.
        raise ApiError(409, "device_id_taken", "Enhets-id:t kan inte användas. Appen skapar ett nytt.")
    now = utcnow()
    if device is None:
        device = Device(id=data["device_id"], user_id=user.id, unit_id=user.unit_id,
                        name=data.get("device_name"), enrolled_at=now, token_generation=0)
        db.session.add(device)
    device.last_seen_at = now
    body = {"token": issue_token(user, device), "push_token": issue_token(user, device, scope="push"),
            "expires_at": token_expiry(now), "user": user, "device_id": device.id,
            "outbox_key": current_app.extensions["outbox_jwk"], "server_time": now,
            "settings": client_settings()}
    return TokenResponseSchema().dump(body)


@bp.get("/sync/outbox-key")
def outbox_key():
    return jsonify(current_app.extensions["outbox_jwk"])


@bp.get("/sync/pull")
@require_auth(roles=("worker",))
def pull():
    query = PullQuerySchema().load(request.args.to_dict())
    return PullResponseSchema().dump(shift_package(g.user, g.device, query.get("cursor")))


@bp.post("/sync/push")
@require_auth(roles=("worker",), scope="push", delivery=True)  # also a revoked phone, a deactivated worker
@transactional
def push_events():
    """Deliver recorded events (docs/protocol.md): one transaction, each record's verdict in the answer."""
    answer = push(g.user, g.device, g.token_scope, json_body())
    count_push_results(answer["results"])  # /metrics: counted once the answer is a success
    return PushResponseSchema().dump(answer)


@bp.get("/clients/<int:client_id>")
@require_auth(roles=("worker", "admin", "manager"))
@transactional
def client(client_id):
    """A client's record (care plan, person card, medication list) — unit-scoped and access-logged."""
    return ClientOut().dump(client_for(g.user, client_id))


@bp.post("/devices/<device_id>/revoke")
@require_auth(roles=("admin", "manager"))
@transactional
def revoke_device(device_id):
    """Block a lost phone: its tokens stop working; its unsynced records are still taken (to quarantine)."""
    device = db.session.get(Device, device_id)
    if device is None or device.unit_id != g.user.unit_id:
        if device is not None:  # another unit's phone: answered like a missing one, but the attempt is logged
            log_denied(g.user, None, f"{request.method} {request.path}", device_id=g.device.id, detail="other_unit")
        raise ApiError(404, "not_found", "Enheten finns inte i din enhet.")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        audit.record(g.user, device.unit_id, "staff", device.user_id, "device_revoked",
                     {"device": device.name, "revoked_at": None},
                     {"device": device.name, "revoked_at": device.revoked_at.isoformat()}, external_id=device.id)
    return {"id": device.id, "revoked_at": device.revoked_at.isoformat()}


@bp.put("/devices/<device_id>/name")
@require_auth(roles=("worker", "admin", "manager"))
@transactional
def rename_device(device_id):
    """Name a phone so people can tell it apart: a worker their own, administrators and managers their unit's."""
    name = DeviceNameSchema().load(json_body())["name"].strip()
    device = db.session.get(Device, device_id)
    allowed = device is not None and device.unit_id == g.user.unit_id and (
        g.user.role != "worker" or device.user_id == g.user.id)
    if not allowed:
        if device is not None:  # someone else's phone: answered like a missing one, but the attempt is logged
            log_denied(g.user, None, f"{request.method} {request.path}", device_id=g.device.id, detail="not_yours")
        raise ApiError(404, "not_found", "Enheten finns inte i din enhet.")
    if not name:
        raise ApiError(422, "validation_error", "Namnet får inte vara tomt.", {"name": ["Ange ett namn."]})
    device.name = name
    return {"id": device.id, "name": device.name}

