"""Tables of Web Push: subscriptions per device, the notification outbox, and one delivery row per subscription."""
from sqlalchemy import Integer, String

from ..extensions import db
from ..models import Json, UTCDateTime, utcnow


class PushSubscription(db.Model):
    """A browser's PushSubscription, tied to the device (and so the login) that made it."""

    __tablename__ = "push_subscriptions"
    id = db.Column(Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)
    device_id = db.Column(db.ForeignKey("devices.id"), nullable=False, index=True)
    endpoint = db.Column(String(1024), nullable=False, unique=True)
    p256dh = db.Column(String(128), nullable=False)
    auth = db.Column(String(64), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_success_at = db.Column(UTCDateTime)


class PushNotification(db.Model):
    """The outbox: written in the same transaction as the fact behind it, one row per recipient.

    `dedupe_key` makes a repeated enqueue of the same fact (a scheduled check running every minute) a no-op.
    """

    __tablename__ = "push_notifications"
    id = db.Column(String(36), primary_key=True)  # also the notification's tag on the phone
    kind = db.Column(String(32), nullable=False)
    user_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)
    device_id = db.Column(String(64))  # only this device's subscriptions (its offline copy is old)
    dedupe_key = db.Column(String(160), nullable=False)
    params = db.Column(Json, nullable=False, default=dict)
    title = db.Column(String(120), nullable=False)
    body = db.Column(String(300), nullable=False)
    title_en = db.Column(String(120), nullable=False)
    body_en = db.Column(String(300), nullable=False)
    url = db.Column(String(120), nullable=False)
    urgency = db.Column(String(8), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=False)  # after this it is not worth sending
    fanned_out_at = db.Column(UTCDateTime, index=True)  # deliveries made for the subscriptions of the moment

    __table_args__ = (db.UniqueConstraint("kind", "user_id", "dedupe_key", name="uq_push_notifications_once"),)


class PushDelivery(db.Model):
    """One notification to one subscription: pending until the push service accepted it (or gave up)."""

    __tablename__ = "push_deliveries"
    id = db.Column(Integer, primary_key=True)
    notification_id = db.Column(db.ForeignKey("push_notifications.id", ondelete="CASCADE"), nullable=False,
                                index=True)
    subscription_id = db.Column(db.ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True)
    state = db.Column(String(16), nullable=False, default="pending")  # pending delivered gone rejected expired failed
    attempts = db.Column(Integer, nullable=False, default=0)
    next_attempt_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    locked_until = db.Column(UTCDateTime)  # a worker's lease; a crashed worker's lease simply runs out
    last_status = db.Column(Integer)
    last_error = db.Column(String(200))
    delivered_at = db.Column(UTCDateTime)
    notification = db.relationship(PushNotification)
    subscription = db.relationship(PushSubscription)

    __table_args__ = (
        db.UniqueConstraint("notification_id", "subscription_id", name="uq_push_deliveries_once"),
        db.Index("ix_push_deliveries_due", "state", "next_attempt_at"),
    )
