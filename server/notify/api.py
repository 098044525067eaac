"""HTTP: the VAPID public key, and subscribe / unsubscribe for the logged-in device."""
import base64
import binascii
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, jsonify
from marshmallow import Schema, ValidationError, fields, validates

from .. import openapi
from ..api import json_body
from ..auth import require_auth
from ..extensions import db, transactional
from ..models import utcnow
from ..schemas import SafeString
from .models import PushSubscription
from .vapid import application_server_key

bp = Blueprint("push", __name__, url_prefix="/api/push")


def _b64u(value):
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return b""


class KeysSchema(Schema):
    p256dh = SafeString(required=True)
    auth = SafeString(required=True)

    @validates("p256dh")
    def _p256dh(self, value, **kw):
        raw = _b64u(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValidationError("Ska vara en P-256-nyckel (65 byte, base64url).")

    @validates("auth")
    def _auth(self, value, **kw):
        if len(_b64u(value)) != 16:
            raise ValidationError("Ska vara 16 byte, base64url.")


class SubscriptionSchema(Schema):
    """The browser's PushSubscription.toJSON()."""

    endpoint = SafeString(required=True)
    keys = fields.Nested(KeysSchema, required=True)
    expirationTime = fields.Raw(load_default=None, allow_none=True)

    @validates("endpoint")
    def _endpoint(self, value, **kw):
        allowed_endpoint(value)


class UnsubscribeSchema(Schema):
    endpoint = SafeString(load_default=None)


class PublicKeySchema(Schema):
    public_key = fields.String(dump_only=True, metadata={"description": "applicationServerKey, base64url"})


class SubscriptionStateSchema(Schema):
    subscribed = fields.Boolean(dump_only=True)
    endpoints = fields.List(fields.String(), dump_only=True)


def allowed_endpoint(value):
    """Only https URLs of known push services: the server must not be made to POST anywhere a user likes."""
    cfg = current_app.config
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if len(value) > 1024 or not host:
        raise ValidationError("Ogiltig adress till push-tjänsten.")
    if parts.scheme != "https" and not (cfg["PUSH_ALLOW_HTTP"] and parts.scheme == "http"):
        raise ValidationError("Push-tjänsten måste nås över https.")
    suffixes = [h.strip().lower() for h in cfg["PUSH_ENDPOINT_HOSTS"].split(",") if h.strip()]
    if not any(host == s.lstrip(".") or (s.startswith(".") and host.endswith(s)) for s in suffixes):
        raise ValidationError("Okänd push-tjänst.")


@bp.get("/public-key")
def public_key():
    return jsonify(PublicKeySchema().dump({"public_key": application_server_key(current_app.extensions["vapid"])}))


def _state():
    endpoints = db.session.scalars(db.select(PushSubscription.endpoint)
                                   .where(PushSubscription.device_id == g.device.id)
                                   .order_by(PushSubscription.id)).all()
    return SubscriptionStateSchema().dump({"subscribed": bool(endpoints), "endpoints": endpoints})


@bp.get("/subscriptions")
@require_auth()
def subscription_state():
    return jsonify(_state())


@bp.post("/subscriptions")
@require_auth()
@transactional
def subscribe():
    data = SubscriptionSchema().load(json_body())
    keys = data["keys"]
    existing = db.session.scalar(db.select(PushSubscription).where(PushSubscription.endpoint == data["endpoint"]))
    created = existing is None
    if created:
        existing = PushSubscription(endpoint=data["endpoint"])
        db.session.add(existing)
    # The same browser may be logged in anew (another device id or user): the subscription follows the login.
    existing.user_id, existing.device_id = g.user.id, g.device.id
    existing.p256dh, existing.auth = keys["p256dh"], keys["auth"]
    if created:
        existing.created_at = utcnow()
    db.session.flush()
    return jsonify(_state()), 201 if created else 200


@bp.delete("/subscriptions")
@require_auth()
@transactional
def unsubscribe():
    data = UnsubscribeSchema().load(json_body(optional=True))
    query = db.delete(PushSubscription).where(PushSubscription.device_id == g.device.id)
    if data["endpoint"]:
        query = query.where(PushSubscription.endpoint == data["endpoint"])
    db.session.execute(query)
    return jsonify(_state())


openapi.EXTRA_SCHEMAS.update({"PushPublicKey": PublicKeySchema, "PushSubscription": SubscriptionSchema,
                              "PushUnsubscribe": UnsubscribeSchema, "PushSubscriptionState": SubscriptionStateSchema})
openapi.EXTRA_PATHS.update({
    "/api/push/public-key": {"get": {
        "summary": "The VAPID public key (applicationServerKey) for PushManager.subscribe",
        "responses": openapi.responses("PushPublicKey")}},
    "/api/push/subscriptions": {
        "get": {"summary": "Whether this device receives Web Push", "security": [{"bearer": []}],
                "responses": openapi.responses("PushSubscriptionState", 401)},
        "post": {"summary": "Subscribe this device (the browser's PushSubscription.toJSON())",
                 "security": [{"bearer": []}], "requestBody": openapi.json_request("PushSubscription"),
                 "responses": {**openapi.responses("PushSubscriptionState", 400, 401, 422, ok="201"),
                               "200": {"description": "Already subscribed; keys refreshed"}}},
        "delete": {"summary": "Unsubscribe this device (one endpoint, or all of the device's)",
                   "security": [{"bearer": []}], "requestBody": {"required": False, "content": {
                       "application/json": {"schema": "PushUnsubscribe"}}},
                   "responses": openapi.responses("PushSubscriptionState", 400, 401, 422)}},
})
