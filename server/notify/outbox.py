"""The transactional outbox: `enqueue` in the caller's transaction, then fan-out and delivery by the push worker.

Delivery is at-least-once towards the push service and shows at most one notification on the phone: a row
is leased before sending, marked after the push service answered, and a worker that dies in between simply
lets its lease run out. The resend carries the same Topic (the push service replaces the undelivered copy)
and the same tag (the phone replaces the shown one), so nobody sees a notification twice.
"""
import json
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Device, User, utcnow
from . import sender
from .kinds import KINDS, clean_params, render
from .models import PushDelivery, PushNotification, PushSubscription


def _user_id(recipient):
    return recipient.id if isinstance(recipient, User) else int(recipient)


def enqueue(kind, recipients, data=None, session=None, *, dedupe_key=None, device_id=None, now=None):
    """Add one notification per recipient to the outbox, in `session`'s transaction (the caller commits).

    kind: a name from `kinds.KINDS`. recipients: User objects or user ids (see `recipients.py` for the
    usual groups). data: the kind's parameters only (ints, aware datetimes). dedupe_key: the same kind,
    recipient and key is enqueued once, ever. device_id: only that device's subscriptions.
    Returns how many rows were new.
    """
    spec = KINDS[kind]
    session = session or db.session
    now = now or utcnow()
    params = clean_params(spec, data)
    title, body, title_en, body_en = render(spec, params, current_app.config["TIMEZONE"], now)
    user_ids = sorted({_user_id(r) for r in recipients})
    if not user_ids:
        return 0
    rows = []
    for user_id in user_ids:
        notification_id = str(uuid.uuid4())
        rows.append({"id": notification_id, "kind": kind, "user_id": user_id, "device_id": device_id,
                     "dedupe_key": dedupe_key or notification_id, "params": params,
                     "title": title, "body": body, "title_en": title_en, "body_en": body_en,
                     "url": spec.url, "urgency": spec.urgency, "created_at": now,
                     "expires_at": now + timedelta(seconds=spec.ttl)})
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[session.get_bind().dialect.name]
    statement = (dialect.insert(PushNotification)
                 .on_conflict_do_nothing(index_elements=["kind", "user_id", "dedupe_key"])
                 .returning(PushNotification.id))  # only new rows come back; rowcount is not portable
    session.flush()  # the caller's pending rows first: they are the same transaction
    connection = session.connection()
    return sum(len(connection.execute(statement.values(row)).all()) for row in rows)


def payload(notification):
    """What the phone receives: texts and the screen to open, nothing that names a person."""
    return json.dumps({"id": notification.id, "kind": notification.kind,
                       "title": notification.title, "body": notification.body,
                       "title_en": notification.title_en, "body_en": notification.body_en,
                       "url": notification.url, "at": notification.created_at.isoformat()},
                      ensure_ascii=False, separators=(",", ":")).encode()


def fan_out(now=None, batch=200):
    """Give each new notification one delivery per current subscription of its recipient (or device)."""
    now = now or utcnow()
    made = 0
    ids = db.session.scalars(select(PushNotification.id).where(PushNotification.fanned_out_at.is_(None))
                             .order_by(PushNotification.created_at).limit(batch)).all()
    for notification_id in ids:
        claimed = db.session.execute(update(PushNotification)
                                     .where(PushNotification.id == notification_id,
                                            PushNotification.fanned_out_at.is_(None))
                                     .values(fanned_out_at=now))
        if claimed.rowcount != 1:  # another worker did it
            db.session.rollback()
            continue
        notification = db.session.get(PushNotification, notification_id)
        query = (select(PushSubscription.id)
                 .join(Device, Device.id == PushSubscription.device_id)
                 .join(User, User.id == PushSubscription.user_id)
                 .where(PushSubscription.user_id == notification.user_id,
                        Device.revoked_at.is_(None), User.active.is_(True)))
        if notification.device_id:
            query = query.where(PushSubscription.device_id == notification.device_id)
        for subscription_id in db.session.scalars(query):
            db.session.add(PushDelivery(notification_id=notification_id, subscription_id=subscription_id,
                                        next_attempt_at=now))
            made += 1
        db.session.commit()
    return made


def _free(now):
    return or_(PushDelivery.locked_until.is_(None), PushDelivery.locked_until < now)


def _due(now, batch):
    return db.session.scalars(select(PushDelivery.id)
                              .where(PushDelivery.state == "pending", PushDelivery.next_attempt_at <= now,
                                     _free(now))
                              .order_by(PushDelivery.next_attempt_at, PushDelivery.id).limit(batch)).all()


def _claim_one(delivery_id, now, lease):
    """Lease one delivery just before sending it: a conditional UPDATE, so two workers never hold the same row.

    The lease runs from the moment of the claim, so a long pass cannot outlive the leases of its last rows.
    """
    result = db.session.execute(update(PushDelivery)
                                .where(and_(PushDelivery.id == delivery_id, PushDelivery.state == "pending",
                                            _free(now)))
                                .values(locked_until=max(now, utcnow()) + timedelta(seconds=lease),
                                        attempts=PushDelivery.attempts + 1))
    db.session.commit()
    return result.rowcount == 1


def _claim(now, lease, batch):
    """Lease up to `batch` due deliveries (what a worker holds when it dies between claim and send)."""
    return [i for i in _due(now, batch) if _claim_one(i, now, lease)]


def backoff_seconds(attempts, cfg):
    return min(cfg["PUSH_RETRY_MAX_SECONDS"], cfg["PUSH_RETRY_BASE_SECONDS"] * 2 ** max(0, attempts - 1))


def deliver_due(signer, now=None, batch=50, http_session=None):
    """Send every due delivery once; returns a count per outcome."""
    cfg = current_app.config
    now = now or utcnow()
    counts = {}
    for delivery_id in _due(now, batch):
        if not _claim_one(delivery_id, now, cfg["PUSH_LEASE_SECONDS"]):
            continue  # another worker took it
        delivery = db.session.get(PushDelivery, delivery_id)
        result = _deliver_one(delivery, signer, cfg, now, http_session)
        counts[result] = counts.get(result, 0) + 1
        db.session.commit()
    return counts


def _deliver_one(delivery, signer, cfg, now, http_session):
    notification, subscription = delivery.notification, delivery.subscription
    delivery.locked_until = None
    if subscription is None:
        delivery.state = "gone"
        return "gone"
    remaining = int((notification.expires_at - now).total_seconds())
    if remaining <= 0:
        delivery.state = "expired"
        return "expired"
    outcome = sender.send({"endpoint": subscription.endpoint,
                           "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                          payload(notification), vapid=signer, subject=cfg["VAPID_SUBJECT"],
                          ttl=remaining, urgency=notification.urgency, topic=notification.id.replace("-", ""),
                          timeout=cfg["PUSH_SEND_TIMEOUT"], session=http_session)
    delivery.last_status, delivery.last_error = outcome.status, outcome.detail or None
    if outcome.result == "delivered":
        delivery.state, delivery.delivered_at = "delivered", utcnow()
        subscription.last_success_at = delivery.delivered_at
    elif outcome.result == "gone":
        delivery.state = "gone"
        _drop_subscription(subscription)
    elif outcome.result == "rejected":
        delivery.state = "rejected"
    elif delivery.attempts >= cfg["PUSH_MAX_ATTEMPTS"]:
        delivery.state = "failed"
    else:
        wait = max(outcome.retry_after or 0, backoff_seconds(delivery.attempts, cfg))
        delivery.next_attempt_at = now + timedelta(seconds=wait)
    return outcome.result


def _drop_subscription(subscription):
    """The push service says this subscription is gone (404/410): forget it and its pending deliveries."""
    db.session.execute(update(PushDelivery).where(PushDelivery.subscription_id == subscription.id,
                                                  PushDelivery.state == "pending")
                       .values(state="gone", locked_until=None))
    db.session.delete(subscription)
    db.session.flush()

