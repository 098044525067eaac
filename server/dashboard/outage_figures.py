"""Gap figures for the backlog view (gaps by route, overdue self-registrations, open conflicts).

They come from the outages area (`server.outages`): its gap table is counted here with GROUP BY, and its
own conflict function decides what an open conflict is (one definition, not two). When that area is not
installed the backlog view says so instead of showing zeros that would look like "all clear".
"""
import importlib

from sqlalchemy import and_, case, func, or_, select


def _outages():
    try:
        return (importlib.import_module("server.outages.models"), importlib.import_module("server.outages.conflicts"),
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
    models, _, rules = loaded
    from ..extensions import db
    Gap, Outage = models.Gap, models.Outage
    overdue = or_(and_(Gap.route == rules.ROUTE_SELF, Gap.deadline < now), Gap.rule == rules.RULE_DEADLINE_PASSED)
    live = and_(Gap.unit_id == user.unit_id, Gap.state == rules.STATE_OPEN, Outage.status != "dismissed")
    rows = db.session.execute(
        select(Gap.route, func.count(), func.count(case((overdue, 1))))
        .join(Outage, Outage.id == Gap.outage_id).where(live).group_by(Gap.route)).all()
    by_route = {route: n for route, n, _ in rows}
    return {"available": True,
            "by_route": {route: by_route.get(route, 0) for route in (rules.ROUTE_SELF, rules.ROUTE_ADMIN,
                                                                     rules.ROUTE_DECISION)},
            "open": sum(by_route.values()), "overdue_self": sum(late for _, _, late in rows),
            "open_conflicts": len(open_conflict_pairs(user))}


def candidate_pairs(unit_id, visit_ids=None):
    """(visit, worker) pairs that have both a phone's record and a backfill: only these can conflict.

    Found with one indexed query; most backfilled visits have no phone record (that is why they were
    backfilled), so the outages area's exact check then runs on a handful of pairs, not on every backfill.
    """
    from sqlalchemy import distinct

    from sync import events as ev

    from ..extensions import db
    from ..models import Event
    records = (ev.VISIT_STARTED, ev.VISIT_ENDED, ev.INTERVENTION_RECORDED)
    stmt = (select(Event.visit_id, Event.user_id)
            .where(Event.unit_id == unit_id, Event.source.in_((ev.SOURCE_DEVICE, ev.SOURCE_BACKFILL)),
                   Event.type.in_(records), Event.visit_id.in_(
                       select(Event.visit_id).where(Event.unit_id == unit_id, Event.source == ev.SOURCE_BACKFILL)))
            .group_by(Event.visit_id, Event.user_id).having(func.count(distinct(Event.source)) > 1))
    if visit_ids is not None:
        stmt = stmt.where(Event.visit_id.in_(visit_ids))
    return [tuple(r) for r in db.session.execute(stmt)]


# Past this many candidates one pass over the unit is cheaper than one exact check per pair.
PER_PAIR_LIMIT = 25


def open_conflict_pairs(user, visit_ids=None):
    """(visit_id, worker_id) of the unit's unresolved backfill-versus-device conflicts, as the outages area
    judges them (same-time records within its tolerance, and resolved ones, are not conflicts); None when
    that area is not installed."""
    loaded = _outages()
    if loaded is None:
        return None
    conflicts = loaded[1]
    candidates = candidate_pairs(user.unit_id, visit_ids)
    if len(candidates) > PER_PAIR_LIMIT:
        wanted = set(candidates)
        return {(c["visit_id"], c["worker_id"]) for c in conflicts.conflicts(user, "open")} & wanted
    return {(v, w) for v, w in candidates for c in conflicts.conflicts(user, "open", v, w)}
