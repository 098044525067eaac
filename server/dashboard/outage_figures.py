"""Gap figures for the backlog view (gaps by route, overdue self-registrations, open conflicts).

They come from the outages area (`server.outages`): its gap table is counted here with GROUP BY, and its
own conflict function decides what an open conflict is (one definition, not two). When that area is not
installed the backlog view says so instead of showing zeros that would look like "all clear".
"""
import importlib

from sqlalchemy import and_, case, func, or_, select


def _outages():
    try:
        return (importlib.import_module("server.outages.models"), importlib.import_module("server.outages.service"),
                importlib.import_module("sync.rules"))
    except ImportError:
        return None


def available():
    return _outages() is not None


def figures(user, now):
    """Open gaps of the viewer's unit by route; self-registrations past their deadline; open conflicts."""
    loaded = _outages()
    if loaded is None:
        return {"available": False}
    models, service, rules = loaded
    from ..extensions import db
    Gap, Outage = models.Gap, models.Outage
    overdue = or_(and_(Gap.route == rules.ROUTE_SELF, Gap.deadline < now), Gap.rule == rules.RULE_DEADLINE_PASSED)
    live = and_(Gap.unit_id == user.unit_id, Gap.state == rules.STATE_OPEN, Outage.status != "dismissed")
    by_route = dict(db.session.execute(
        select(Gap.route, func.count()).join(Outage, Outage.id == Gap.outage_id).where(live)
        .group_by(Gap.route)).all())
    row = db.session.execute(
        select(func.count(case((overdue, 1))), func.count(func.distinct(Gap.outage_id)))
        .join(Outage, Outage.id == Gap.outage_id).where(live)).one()
    return {"available": True,
            "by_route": {route: by_route.get(route, 0) for route in (rules.ROUTE_SELF, rules.ROUTE_ADMIN,
                                                                     rules.ROUTE_DECISION)},
            "open": sum(by_route.values()), "overdue_self": row[0], "outages_with_open_gaps": row[1],
            "open_conflicts": len(service.conflicts(user, "open"))}


def open_conflict_pairs(user):
    """(visit_id, worker_id) of the unit's unresolved backfill-versus-device conflicts, or None if unknown."""
    loaded = _outages()
    if loaded is None:
        return None
    return {(c["visit_id"], c["worker_id"]) for c in loaded[1].conflicts(user, "open")}
