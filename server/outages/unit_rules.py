"""A unit's own rules: overrides of threshold and deadlines, and its lock date (spärrdatum)."""
from flask import current_app
from sqlalchemy import select

from sync.errors import Conflict, NotFound, OutOfScope

from ..extensions import db
from ..models import Unit, utcnow
from .evaluation import evaluate, live_outages
from .facts import rule_settings, tz
from .models import UnitRuleSettings


def own_unit(user, unit_id):
    if db.session.get(Unit, unit_id) is None:
        raise NotFound("Enheten finns inte.")
    if unit_id != user.unit_id:
        raise OutOfScope("Enheten är inte din.")


def set_unit_rules(user, unit_id, overrides):
    own_unit(user, unit_id)
    rule_settings().with_unit_override(unit_id, overrides)  # raises InvalidInput with field messages
    row = db.session.get(UnitRuleSettings, unit_id) or UnitRuleSettings(unit_id=unit_id)
    row.overrides, row.updated_by, row.updated_at = dict(overrides), user.id, utcnow()
    db.session.add(row)
    db.session.flush()
    for outage in live_outages([unit_id], utcnow()):
        evaluate(outage, utcnow(), "rules_changed")
    return rule_settings().for_unit(unit_id)


def unit_settings_view(user, unit_id):
    own_unit(user, unit_id)
    unit = db.session.get(Unit, unit_id)
    row = db.session.get(UnitRuleSettings, unit_id)
    return {"unit_id": unit_id, "lock_date": unit.lock_date.isoformat() if unit.lock_date else None,
            "effective": rule_settings().for_unit(unit_id).to_dict(), "overrides": row.overrides if row else {},
            "timezone": current_app.config["TIMEZONE"]}


def set_lock_date(user, unit_id, lock_date):
    own_unit(user, unit_id)
    unit = db.session.get(Unit, unit_id)
    unit.lock_date = lock_date
    return unit


def check_lock(unit_id, moment):
    lock = db.session.scalar(select(Unit.lock_date).where(Unit.id == unit_id))
    if lock is not None and moment.astimezone(tz()).date() < lock:
        raise Conflict(f"Perioden före spärrdatum {lock.isoformat()} är låst.", code="before_lock_date")
