"""Rebuilding the projection tables from the event log with the pure fold in `sync.projection`."""
from datetime import datetime

from sqlalchemy import delete, select

from sync import events as ev
from sync.projection import rank_key, replay

from .extensions import db
from .models import Event, InterventionRecord, Registration


def _records():
    rows = db.session.execute(select(Event.type, Event.payload, Event.user_id, Event.occurred_at_corrected,
                                     Event.id, Event.source)
                              .where(Event.type.in_((ev.VISIT_STARTED, ev.VISIT_ENDED, ev.INTERVENTION_RECORDED)))
                              .order_by(Event.seq)).all()
    for event_type, payload, user_id, corrected_at, event_id, source in rows:
        at = payload.get("at")
        at = datetime.fromisoformat(at) if at else corrected_at
        yield event_type, payload, user_id, at, rank_key(source, corrected_at, event_id), source


def compute():
    """The state a full replay of the log gives, as plain dicts keyed like the tables."""
    regs, outcomes = replay(_records())
    return regs, outcomes


def rebuild():
    regs, outcomes = compute()
    db.session.execute(delete(InterventionRecord))
    db.session.execute(delete(Registration))
    db.session.add_all(Registration(visit_id=r.visit_id, worker_id=r.worker_id, started_at=r.started_at,
                                    started_key=r.started_key, started_source=r.started_source,
                                    ended_at=r.ended_at, ended_key=r.ended_key, ended_source=r.ended_source)
                       for r in regs.values())
    db.session.add_all(InterventionRecord(visit_id=o.visit_id, worker_id=o.worker_id,
                                          intervention_id=o.intervention_id, status=o.status, reason=o.reason,
                                          comment=o.comment, key=o.key, source=o.source)
                       for o in outcomes.values())
    return len(regs), len(outcomes)
