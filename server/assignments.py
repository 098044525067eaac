"""Who makes a visit: `visit_workers`, and `visit_former_workers` for those taken off it — re-staffed by an
import or by hand. What a former worker recorded offline before the change reached their phone still delivers
(sync.events.check), so the change must remember them; this is the one place that changes a stored visit's staff."""
from sqlalchemy import delete, insert, select

from .dbutil import member
from .extensions import db
from .models import visit_former_workers, visit_workers


def restaff(new_by_visit):
    """Set who makes each of these stored visits ({visit id: [worker ids]}) in the caller's transaction. Those
    taken off become former workers; one put back is a worker again, not a former one."""
    ids = sorted(new_by_visit)
    if not ids:
        return
    wanted = {(visit_id, worker_id) for visit_id, workers in new_by_visit.items() for worker_id in workers}
    pairs = set()
    for table in (visit_workers, visit_former_workers):
        pairs |= set(db.session.execute(select(table.c.visit_id, table.c.worker_id)
                                        .where(member(table.c.visit_id, ids))).all())
        db.session.execute(delete(table).where(member(table.c.visit_id, ids)))
    if wanted:
        db.session.execute(insert(visit_workers), [{"visit_id": v, "worker_id": w} for v, w in sorted(wanted)])
    former = pairs - wanted
    if former:
        db.session.execute(insert(visit_former_workers), [{"visit_id": v, "worker_id": w} for v, w in sorted(former)])
