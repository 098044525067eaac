"""Evaluation: decide every gap of an outage again when a fact changes (rule 7), store each new decision with
its history, and tell people what changed for them.

Every function works in the caller's transaction (`db.session`) and leaves the commit to the caller, so a
decision, the fact that caused it and the notifications it triggers are stored together or not at all.
"""
from datetime import datetime, timedelta

from sqlalchemy import Integer, bindparam, or_, select, text

from sync import events as ev
from sync import rules

from ..dbutil import insert
from ..extensions import db
from ..models import Unit, utcnow
from .facts import candidates, decision_of, gap_facts, outage_facts, rule_settings
from .models import Gap, GapDecision, Outage
from .notices import admins, managers, notify

OPEN_LOOKBACK = timedelta(days=30)  # outages that ended longer ago than this are not re-evaluated by reads


def evaluate(outage: Outage, now: datetime, trigger: str, only=None):
    """Rule 7: decide every gap of the outage again (or only the `(visit, worker)` pairs given), store the
    decisions that changed with their history, and tell people what changed for them."""
    if outage.status != "confirmed":
        return []
    settings = rule_settings()
    facts = outage_facts(outage)
    pairs = candidates(outage, now)
    if only is not None:
        pairs = {k: v for k, v in pairs.items() if k in only}
    facts_of = gap_facts(outage, pairs, now, settings)
    # Row locks (PostgreSQL) make concurrent evaluations of one outage — a request and the clock, say — take
    # turns, so a change is decided and written to the history once.
    existing = {(g.visit_id, g.worker_id): g for g in db.session.scalars(
        select(Gap).where(Gap.outage_id == outage.id).with_for_update())}
    changes = []
    for key, gfacts in facts_of.items():
        gap = existing.get(key)
        previous = decision_of(gap) if gap is not None else None
        decision = rules.decide(facts, gfacts, settings, now)
        if decision.same_as(previous):
            if gap.explanation != decision.explanation:  # same decision, new detail (e.g. a start synced)
                gap.explanation, gap.explanation_en = decision.explanation, decision.explanation_en
                gap.inputs = decision.inputs
            continue
        if gap is None and decision.state == rules.STATE_CLOSED:
            continue  # registered before it ever was a gap
        if gap is None:
            gap = _new_gap(outage.id, key, gfacts.unit_id, decision, now)
            if gap is None:  # another transaction created it a moment ago and decided the same
                continue
        record(gap, previous, decision, trigger, now)
        changes.append((gap, previous, decision))
    _tell_about(outage, facts, settings, changes, now)
    return changes


def record(gap, previous, decision, trigger, now):
    """Make `decision` the gap's current one and append it to the gap's history."""
    gap.state, gap.route, gap.deadline, gap.rule = decision.state, decision.route, decision.deadline, decision.rule
    gap.explanation, gap.explanation_en, gap.inputs = decision.explanation, decision.explanation_en, decision.inputs
    gap.decided_at = now
    if previous is None or previous.deadline != decision.deadline:
        gap.reminded_at = None
    db.session.flush()
    db.session.add(GapDecision(gap_id=gap.id, state=decision.state, route=decision.route,
                               deadline=decision.deadline, rule=decision.rule, explanation=decision.explanation,
                               inputs=decision.inputs, trigger=trigger, decided_at=now))


def _new_gap(outage_id, key, unit_id, decision, now):
    """Insert a gap once (ON CONFLICT DO NOTHING); if a concurrent evaluation won, use its row unless it already
    holds this decision."""
    values = dict(outage_id=outage_id, visit_id=key[0], worker_id=key[1], unit_id=unit_id, state=decision.state,
                  route=decision.route, deadline=decision.deadline, rule=decision.rule,
                  explanation=decision.explanation, explanation_en=decision.explanation_en, inputs=decision.inputs,
                  decided_at=now)
    db.session.execute(insert(Gap.__table__).values(**values)
                       .on_conflict_do_nothing(index_elements=["outage_id", "visit_id", "worker_id"]))
    gap = db.session.scalar(select(Gap).where(Gap.outage_id == outage_id, Gap.visit_id == key[0],
                                              Gap.worker_id == key[1]).with_for_update()
                            .execution_options(populate_existing=True))
    if db.session.scalar(select(GapDecision.id).where(GapDecision.gap_id == gap.id).limit(1)) is not None \
            and decision.same_as(decision_of(gap)):
        return None
    return gap


def _tell_about(outage, facts, settings, changes, now):
    escalated = {}
    for gap, previous, decision in changes:
        if decision.route == rules.ROUTE_ADMIN and (previous is None or previous.route != rules.ROUTE_ADMIN):
            escalated[gap.unit_id] = escalated.get(gap.unit_id, 0) + 1
    for unit_id, count in escalated.items():
        notify("gap_escalated", admins([unit_id]), {"count": count})
    if outage.threshold_notified_at is None and facts.kind == rules.UNPLANNED:
        waiting = [u.id for u in outage.units
                   if rules.assess_outage(facts, settings.for_unit(u.id), now).needs_decision]
        if waiting:
            hours = int(settings.for_unit(waiting[0]).threshold.total_seconds() // 3600)
            # Said for what happened: a running outage has crossed the line; one already over lasted past it.
            kind = "threshold_crossed" if facts.ended_at is None else "threshold_passed_ended"
            notify(kind, managers(waiting), {"hours": hours}, dedupe_key=f"outage-{outage.id}")
            outage.threshold_notified_at = now


def live_outages(unit_ids, now):
    return list(db.session.scalars(
        select(Outage).join(Outage.units).where(
            Outage.status == "confirmed", Unit.id.in_(list(unit_ids)),
            or_(Outage.ended_at.is_(None), Outage.ended_at >= now - OPEN_LOOKBACK)).distinct().order_by(Outage.id)))


def evaluate_neighbours(outage, now, trigger):
    """After an outage changed, its units' other live outages look again: a visit that two outages hold is one
    gap, kept by the earliest (rules.covering_outage), so a change in one can move a visit to or from another."""
    for other in live_outages([u.id for u in outage.units], now):
        if other.id != outage.id:
            evaluate(other, now, trigger)


def refresh(unit_ids, now, trigger="read"):
    """Re-evaluate the live outages of these units (reads call it, so time-driven changes show at once)."""
    for outage in live_outages(unit_ids, now):
        evaluate(outage, now, trigger)


# Asked on every push with visit events, so plain SQL (a Core select cost twice as much to build and run).
_GAPS_OF_VISITS = text("SELECT outage_id, visit_id, worker_id FROM outage_gaps WHERE visit_id IN :visit_ids"
                       ).bindparams(bindparam("visit_ids", expanding=True, type_=Integer))


def on_events_applied(applied, facts=None):
    """Ingest hook for a stored batch (the projection already holds it): the gaps the batch touches (read
    by the push's facts query when it has them — `facts.gaps` — else one query), and each touched outage
    is evaluated once per trigger, for those pairs only. A pair's trigger is its last event that can change
    a decision (start, end, hand-over), else its last event."""
    last_type = {}
    for _seq, event, user in applied:
        if event.type in ev.VISIT_EVENTS:
            pair = (event.payload.get("visit_id"), user.id)
            if event.type != ev.INTERVENTION_RECORDED or last_type.get(pair, event.type) == event.type:
                last_type[pair] = event.type
    if not last_type:
        return
    touched = {}
    gaps = facts.gaps if facts is not None else \
        db.session.execute(_GAPS_OF_VISITS, {"visit_ids": sorted({v for v, _ in last_type})})
    for outage_id, visit_id, worker_id in gaps:
        if (visit_id, worker_id) in last_type:
            touched.setdefault((outage_id, last_type[(visit_id, worker_id)]), set()).add((visit_id, worker_id))
    now = utcnow()
    for (outage_id, event_type), pairs in sorted(touched.items()):
        evaluate(db.session.get(Outage, outage_id), now, f"event:{event_type}", only=pairs)


def tick(now=None):
    """What the clock alone changes: deadlines pass, ongoing outages cross the threshold, reminders fall due."""
    now = now or utcnow()
    units = db.session.scalars(select(Unit.id)).all()
    refresh(units, now, "clock")
    soon = db.session.scalars(select(Gap).where(Gap.state == rules.STATE_OPEN, Gap.route == rules.ROUTE_SELF,
                                                Gap.reminded_at.is_(None), Gap.deadline.is_not(None),
                                                Gap.deadline > now, Gap.deadline <= now + timedelta(hours=24))).all()
    by_worker = {}
    for gap in soon:
        by_worker.setdefault(gap.worker_id, []).append(gap)
    for worker_id, gaps in by_worker.items():
        deadline = min(g.deadline for g in gaps)
        notify("deadline_today", [worker_id], {"count": len(gaps), "deadline": deadline - timedelta(minutes=1)},
               dedupe_key=f"deadline-{deadline.isoformat()}")
        for gap in gaps:
            gap.reminded_at = now
    return len(soon)


def assessment(outage, user, now):
    settings = rule_settings()
    unit_rules = settings.for_unit(user.unit_id)
    return rules.assess_outage(outage_facts(outage), unit_rules, now), unit_rules


def reevaluate_worker(worker, now, trigger):
    for outage in live_outages([worker.unit_id], now):
        pairs = {k for k in candidates(outage, now) if k[1] == worker.id}
        if pairs:
            evaluate(outage, now, trigger, only=pairs)


def reevaluate_pair(visit, worker, now, trigger):
    for outage in live_outages([visit.unit_id], now):
        evaluate(outage, now, trigger, only={(visit.id, worker.id)})
