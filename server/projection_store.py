"""The projection tables: kept current batch by batch (`project`, the SQL twin of `sync.projection`) and rebuilt
from the event log with the pure fold (`rebuild`)."""
from datetime import datetime

from sqlalchemy import bindparam, delete, select, text

from sync import events as ev
from sync.projection import rank_key, replay

from .extensions import db
from .models import Event, InterventionRecord, Registration, UTCDateTime


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


# The projection's guarded upserts (the SQL twin of sync.projection): a stored value is replaced only by a
# higher-ranked one, so concurrent batches and replays cannot overwrite a winner. The same text on both engines.
def _wins(field):
    return (f"excluded.{field}_key IS NOT NULL AND (registrations.{field}_key IS NULL"
            f" OR excluded.{field}_key > registrations.{field}_key)")


_UPSERT_REGISTRATIONS = text(f"""
    INSERT INTO registrations (visit_id, worker_id, started_at, started_key, started_source, ended_at, ended_key,
                               ended_source)
    VALUES (:visit_id, :worker_id, :started_at, :started_key, :started_source, :ended_at, :ended_key, :ended_source)
    ON CONFLICT (visit_id, worker_id) DO UPDATE SET
    {", ".join(f"{field}_{col} = CASE WHEN {_wins(field)} THEN excluded.{field}_{col} ELSE registrations.{field}_{col} END"
               for field in ("started", "ended") for col in ("at", "key", "source"))}
""").bindparams(bindparam("started_at", type_=UTCDateTime), bindparam("ended_at", type_=UTCDateTime))
_UPSERT_INTERVENTIONS = text("""
    INSERT INTO intervention_records (visit_id, worker_id, intervention_id, status, reason, comment, key, source)
    VALUES (:visit_id, :worker_id, :intervention_id, :status, :reason, :comment, :key, :source)
    ON CONFLICT (visit_id, worker_id, intervention_id) DO UPDATE SET
        status = excluded.status, reason = excluded.reason, comment = excluded.comment, key = excluded.key,
        source = excluded.source
    WHERE excluded.key > intervention_records.key
""")


def project(applied):
    """Fold a batch into the projection. Within a batch only the highest-ranked record per row can win (the fold
    is a max), so each row is written once — as one INSERT … ON CONFLICT requires — in a stable order."""
    best = {}
    for a in applied:
        if a["type"] in (ev.VISIT_STARTED, ev.VISIT_ENDED):
            group = (a["type"], a["visit_id"], a["user_id"])
        elif a["type"] == ev.INTERVENTION_RECORDED:
            group = (a["type"], a["visit_id"], a["user_id"], a["payload"]["intervention_id"])
        else:
            continue
        if group not in best or a["key"] > best[group]["key"]:
            best[group] = a
    registrations, interventions = {}, []
    for group, a in sorted(best.items(), key=lambda item: str(item[0])):
        if group[0] == ev.INTERVENTION_RECORDED:
            p = a["payload"]
            interventions.append({"visit_id": p["visit_id"], "worker_id": a["user_id"],
                                  "intervention_id": p["intervention_id"], "status": p["status"],
                                  "reason": p.get("reason"), "comment": p.get("comment"), "key": a["key"],
                                  "source": a["source"]})
            continue
        field = "started" if group[0] == ev.VISIT_STARTED else "ended"
        reg = registrations.setdefault(group[1:], {
            "visit_id": a["visit_id"], "worker_id": a["user_id"], "started_at": None, "started_key": None,
            "started_source": None, "ended_at": None, "ended_key": None, "ended_source": None})
        reg.update({f"{field}_at": a["payload_at"], f"{field}_key": a["key"], f"{field}_source": a["source"]})
    if registrations:
        db.session.execute(_UPSERT_REGISTRATIONS, [registrations[k] for k in sorted(registrations)])
    if interventions:
        db.session.execute(_UPSERT_INTERVENTIONS, interventions)
