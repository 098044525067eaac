"""One Web Push request through pywebpush, its answer sorted into what the outbox should do next."""
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import requests
from pywebpush import WebPushException, webpush

from ..models import utcnow

GONE = (404, 410)  # the subscription no longer exists: forget it (RFC 8030 §7.3)
RETRY = (408, 425, 429)  # and every 5xx: the push service is busy or down, try again later


@dataclass(frozen=True)
class Outcome:
    result: str  # "delivered" | "gone" | "retry" | "rejected"
    status: int | None = None
    retry_after: float | None = None  # seconds, when the push service asked for a pause
    detail: str = ""


def _retry_after_seconds(value):
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
        except (TypeError, ValueError):
            return None


def send(subscription_info, payload, *, vapid, subject, ttl, urgency, topic=None, timeout=10.0, session=None):
    """Encrypt (aes128gcm) and POST `payload` (bytes) to one subscription, signed with our VAPID key."""
    headers = {"Urgency": urgency}
    if topic:
        headers["Topic"] = topic  # a newer message with the same topic replaces an undelivered one
    try:
        response = webpush(subscription_info, data=payload, vapid_private_key=vapid,
                           vapid_claims={"sub": subject},  # fresh dict: webpush() writes aud and exp into it
                           content_encoding="aes128gcm", ttl=ttl, headers=headers, timeout=timeout,
                           requests_session=session)
    except WebPushException as exc:
        status = exc.status_code
        detail = (exc.message or "")[:200]
        if status is None:
            return Outcome("retry", None, None, detail)
        if status in GONE:
            return Outcome("gone", status, None, detail)
        if status in RETRY or status >= 500:
            return Outcome("retry", status, _retry_after_seconds(exc.retry_after), detail)
        return Outcome("rejected", status, None, detail)
    except requests.RequestException as exc:  # refused, reset, timed out: nobody took the message
        return Outcome("retry", None, None, type(exc).__name__)
    return Outcome("delivered", response.status_code)
