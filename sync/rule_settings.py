"""The rules as data: how one outage is post-registered (`Policy`), one unit's thresholds and deadlines
(`UnitRules`), and the defaults with every unit's overrides (`RuleSettings`)."""
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .dates import iso, parse_iso
from .errors import InvalidInput

ROUTE_SELF = "self"          # the visit's worker post-registers it (self_registration)
ROUTE_ADMIN = "admin"        # the unit's administrators backfill it
POLICY_ROUTES = (ROUTE_SELF, ROUTE_ADMIN)


@dataclass(frozen=True)
class Policy:
    """How post-registration is handled for one outage: by each worker (optionally by a set deadline) or by
    the administrators."""

    route: str
    deadline: Optional[datetime] = None  # only for `self`; None: the settings' default deadline
    note: Optional[str] = None           # what management wrote, shown to the people affected

    def __post_init__(self):
        if self.route not in POLICY_ROUTES:
            raise InvalidInput(f"Okänt sätt att efterregistrera: {self.route!r}.",
                               errors={"route": [f"Måste vara ett av {', '.join(POLICY_ROUTES)}."]})
        if self.deadline is not None and self.deadline.tzinfo is None:
            raise InvalidInput("Sista tidpunkt måste ha tidszon.", errors={"deadline": ["Tidszon saknas."]})

    def to_dict(self):
        return {"route": self.route, "deadline": iso(self.deadline), "note": self.note}

    @classmethod
    def from_dict(cls, data):
        if data is None:
            return None
        if isinstance(data, Policy):
            return data
        if not isinstance(data, Mapping) or "route" not in data:
            raise InvalidInput("En policy behöver minst `route`.", errors={"route": ["Saknas."]})
        deadline = data.get("deadline")
        if isinstance(deadline, str):
            deadline = parse_iso(deadline, "deadline")
        return cls(route=data["route"], deadline=deadline, note=data.get("note"))


@dataclass(frozen=True)
class UnitRules:
    """The settings that apply to one unit (defaults merged with that unit's overrides)."""

    threshold: timedelta = timedelta(hours=10)  # an outage this long or shorter is short (inclusive)
    self_deadline_days: int = 1                 # self: by the end of the Nth calendar day after the outage ended
    admin_grace_days: int = 2                   # admin: N calendar days more than the worker would have had
    long_outage_policy: Optional[Policy] = None  # standing policy for long outages; None: management decides

    def to_dict(self):
        return {"threshold_minutes": int(self.threshold.total_seconds() // 60),
                "self_deadline_days": self.self_deadline_days, "admin_grace_days": self.admin_grace_days,
                "long_outage_policy": self.long_outage_policy.to_dict() if self.long_outage_policy else None}


UNIT_SETTING_KEYS = ("threshold_minutes", "self_deadline_days", "admin_grace_days", "long_outage_policy")


def _unit_rules(base: UnitRules, data: Mapping) -> UnitRules:
    unknown = set(data) - set(UNIT_SETTING_KEYS)
    if unknown:
        raise InvalidInput("Okända regelinställningar.", errors={k: ["Okänd inställning."] for k in sorted(unknown)})
    changes, errors = {}, {}
    if data.get("threshold_minutes") is not None:
        minutes = data["threshold_minutes"]
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 7 * 24 * 60:
            errors["threshold_minutes"] = ["Ett heltal mellan 1 och 10080."]
        else:
            changes["threshold"] = timedelta(minutes=minutes)
    for key in ("self_deadline_days", "admin_grace_days"):
        if data.get(key) is not None:
            days = data[key]
            if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 60:
                errors[key] = ["Ett heltal mellan 0 och 60."]
            else:
                changes[key] = days
    if "long_outage_policy" in data:
        try:
            changes["long_outage_policy"] = Policy.from_dict(data["long_outage_policy"])
        except InvalidInput as exc:
            errors["long_outage_policy"] = [str(exc)]
    if errors:
        raise InvalidInput("Ogiltiga regelinställningar.", errors=errors)
    return replace(base, **changes)


@dataclass(frozen=True)
class RuleSettings:
    """Rules as data: the defaults, the timezone that defines calendar days, and per-unit overrides."""

    timezone: str = "Europe/Stockholm"
    defaults: UnitRules = field(default_factory=UnitRules)
    unit_overrides: Mapping = field(default_factory=dict)  # unit id → partial mapping of UNIT_SETTING_KEYS

    @property
    def tz(self):
        return ZoneInfo(self.timezone)

    def for_unit(self, unit_id) -> UnitRules:
        override = self.unit_overrides.get(unit_id)
        return _unit_rules(self.defaults, override) if override else self.defaults

    def with_unit_override(self, unit_id, data: Mapping) -> "RuleSettings":
        _unit_rules(self.defaults, data)  # validate now, not when the next gap is evaluated
        return replace(self, unit_overrides={**self.unit_overrides, unit_id: dict(data)})

    @classmethod
    def from_mapping(cls, data: Optional[Mapping] = None, unit_overrides: Optional[Mapping] = None):
        """Build settings from plain data (config, JSON): the unit keys plus `timezone`."""
        data = dict(data or {})
        tz = data.pop("timezone", "Europe/Stockholm")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidInput(f"Okänd tidszon {tz!r}.", errors={"timezone": ["Okänd tidszon."]})
        settings = cls(timezone=tz, defaults=_unit_rules(UnitRules(), data))
        for unit_id, override in (unit_overrides or {}).items():
            settings = settings.with_unit_override(unit_id, override)
        return settings
