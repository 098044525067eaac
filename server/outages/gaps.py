"""Reading gaps: one outage's, one gap with its history, the administrators' queue, a worker's own list."""
from datetime import timedelta

from sqlalchemy import or_, select

from sync import rules
from sync.errors import NotFound, OutOfScope

from ..access_log import log_access
from ..extensions import db
from ..models import Visit
from .evaluation import refresh
from .models import Gap, GapDecision, Outage


def gaps_of(outage, user, route=None, state=None):
    query = select(Gap).where(Gap.outage_id == outage.id, Gap.unit_id == user.unit_id)
    if route:
        query = query.where(Gap.route == route)
    if state:
        query = query.where(Gap.state == state)
    query = query.join(Visit, Visit.id == Gap.visit_id)
    return list(db.session.scalars(query.order_by(Gap.deadline.is_(None), Gap.deadline, Visit.planned_start,
                                                  Gap.worker_id)))


def get_gap(user, gap_id):
    gap = db.session.get(Gap, gap_id)
    if gap is None:
        raise NotFound("Luckan finns inte.")
    if gap.unit_id != user.unit_id or (user.role == "worker" and gap.worker_id != user.id):
        raise OutOfScope("Luckan hör inte till dig.")
    return gap


def history(gap):
    return list(db.session.scalars(select(GapDecision).where(GapDecision.gap_id == gap.id).order_by(GapDecision.id)))


def backfill_queue(user, now, outage_id=None, worker_id=None, overdue=None, route=rules.ROUTE_ADMIN):
    """The unit's open gaps for the administrators, most urgent first."""
    refresh([user.unit_id], now)
    query = select(Gap).join(Outage, Outage.id == Gap.outage_id).where(
        Gap.unit_id == user.unit_id, Gap.state == rules.STATE_OPEN, Outage.status == "confirmed")
    if route != "all":
        query = query.where(Gap.route == route)
    if outage_id:
        query = query.where(Gap.outage_id == outage_id)
    if worker_id:
        query = query.where(Gap.worker_id == worker_id)
    if overdue is True:
        query = query.where(Gap.deadline.is_not(None), Gap.deadline <= now)
    query = query.join(Visit, Visit.id == Gap.visit_id)
    return list(db.session.scalars(query.order_by(Gap.deadline.is_(None), Gap.deadline, Visit.planned_start,
                                                  Gap.worker_id)))


def my_gaps(user, now):
    """The worker's own gaps ("Att efterregistrera"): open ones, and those closed in the last day."""
    refresh([user.unit_id], now)
    gaps = db.session.scalars(select(Gap).join(Outage, Outage.id == Gap.outage_id).where(
        Gap.worker_id == user.id, Outage.status == "confirmed",
        or_(Gap.state == rules.STATE_OPEN, Gap.decided_at >= now - timedelta(days=1)))
        .join(Visit, Visit.id == Gap.visit_id)
        .order_by(Gap.state.desc(), Gap.deadline.is_(None), Gap.deadline, Visit.planned_start)).all()
    for client_id in sorted({g.visit.client_id for g in gaps}):
        log_access(user, client_id, "post_registration_list")
    return gaps
