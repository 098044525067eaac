"""Time as the rules count it and as people read it: elapsed durations in UTC, local calendar days,
exclusive deadlines, ISO 8601 text, and days, durations and deadlines written in Swedish and English.

Durations are elapsed time: both ends are converted to UTC before subtracting, because Python subtracts
two datetimes that share a ZoneInfo as wall-clock times (a DST night would be 10 h instead of 9 or 11).
"""
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Optional

from .errors import InvalidInput


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is timezone.utc else moment.astimezone(timezone.utc)


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Elapsed time between two aware moments, immune to DST (see the module docstring)."""
    return utc(end) - utc(start)


@lru_cache(maxsize=4096)
def local_date(moment: datetime, tz) -> date:
    return moment.astimezone(tz).date()


@lru_cache(maxsize=4096)
def end_of_day(day: date, tz) -> datetime:
    """The first instant after the local calendar day `day`, in UTC (an exclusive deadline)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)


@lru_cache(maxsize=4096)
def last_day(deadline: datetime, tz) -> date:
    """The local calendar day an exclusive deadline ends."""
    return local_date(deadline - timedelta(microseconds=1), tz)


_WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
_MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
              "oktober", "november", "december")


@lru_cache(maxsize=4096)
def format_duration_sv(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} {'timme' if hours == 1 else 'timmar'}")
    if minutes or not hours:
        parts.append(f"{minutes} {'minut' if minutes == 1 else 'minuter'}")
    return " ".join(parts)


@lru_cache(maxsize=4096)
def format_duration_en(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@lru_cache(maxsize=4096)
def format_day_sv(day: date) -> str:
    return f"{_WEEKDAYS_SV[day.weekday()]} {day.day} {_MONTHS_SV[day.month - 1]} {day.year}"


@lru_cache(maxsize=4096)
def format_day_en(day: date) -> str:
    return day.strftime("%A %d %B %Y")


def format_deadline_sv(deadline: datetime, tz) -> str:
    """A deadline as people read it: the day when it is the end of a day, else the day and the time."""
    day = last_day(deadline, tz)
    if utc(deadline) == end_of_day(day, tz):
        return format_day_sv(day)
    local = deadline.astimezone(tz)
    return f"{format_day_sv(local.date())} kl. {local:%H:%M}"


def format_deadline_en(deadline: datetime, tz) -> str:
    day = last_day(deadline, tz)
    if utc(deadline) == end_of_day(day, tz):
        return format_day_en(day)
    local = deadline.astimezone(tz)
    return f"{format_day_en(local.date())} at {local:%H:%M}"


def days_sv(days) -> str:
    days = sorted(days)
    if not days:
        return ""
    if len(days) == 1:
        return format_day_sv(days[0])
    return f"{format_day_sv(days[0])} – {format_day_sv(days[-1])}"


@lru_cache(maxsize=1024)
def days_between(first: date, last: date) -> tuple:
    """The calendar days from `first` to `last`, both included."""
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


@lru_cache(maxsize=4096)
def iso(moment: Optional[datetime]) -> Optional[str]:
    if moment is None:
        return None
    return utc(moment).isoformat().replace("+00:00", "Z")


def parse_iso(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"Ogiltig tid {text!r}.", errors={name: ["Inte en ISO 8601-tid."]})
    if moment.tzinfo is None:
        raise InvalidInput("Tider måste ha tidszon.", errors={name: ["Tidszon saknas."]})
    return moment
