"""Rules of sync protocol v1 that do not depend on HTTP: clock skew and plausible timestamps."""
from datetime import datetime, timedelta, timezone

PROTOCOL_VERSION = 1


def clock_skew(server_now: datetime, device_clock: datetime | None) -> float:
    """Seconds to add to device times to get server times (0 when the device did not say)."""
    if device_clock is None:
        return 0.0
    return (server_now - device_clock).total_seconds()


def corrected(occurred_at: datetime, skew_seconds: float) -> datetime:
    return (occurred_at + timedelta(seconds=skew_seconds)).astimezone(timezone.utc)


def plausible(moment: datetime, now: datetime, max_age: timedelta, max_future: timedelta) -> bool:
    """An offline phone may hand in weeks-old records, but not from another decade."""
    return now - max_age <= moment <= now + max_future
