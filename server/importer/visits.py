"""Visits, the unbounded part of an import, planned a chunk at a time: each chunk's rows are checked against the
people plan (in memory) and the stored visits with the chunk's ids (three queries), counted into the diff, and
handed to the apply. What is kept for every row is small: its id (rows.VisitKeys) and, per worker, the spans of
its visits for the double-booking check at the end."""
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from sqlalchemy import select

from ..dbutil import member
from ..extensions import db
from ..models import CarePlanIntervention, Client, User, Visit, visit_interventions, visit_workers
from .fields import LOCAL
from .plan import Change, chunked
from .rows import Problem

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
STAFF_LABELS = 1 << 14  # a schedule's staff lists: a few thousand distinct
STREAMED = 10_000  # stored visits fetched at a time for the double-booking check


@lru_cache(maxsize=1 << 16)
def when(moment):
    """A visit's time in the diff and the audit trail: Swedish local time with its offset (exact, and as read)."""
    return moment.astimezone(LOCAL).isoformat()


def micros(moment):
    return (moment - EPOCH) // MICROSECOND


@dataclass(slots=True)
class StoredVisit:
    """A stored visit as the plan compares it: plain values, not an ORM object."""

    id: int
    unit_id: int
    client: str  # its client's label: external id, or #id for a client stored before imports
    start: datetime
    end: datetime
    cancelled: bool
    instructions: str
    staff: list
    interventions: list

    def value(self, column):
        """The value of a column as the diff and the audit trail show it."""
        if column in ("start", "end"):
            return when(getattr(self, column))
        return getattr(self, column)


def stored_visits(external_ids):
    """The stored visits with these external ids (one chunk), in three plain queries."""
    out, by_id = {}, {}
    rows = db.session.execute(
        select(Visit.id, Visit.external_id, Visit.unit_id, Visit.client_id, Client.external_id, Visit.planned_start,
               Visit.planned_end, Visit.cancelled, Visit.instructions)
        .join(Client, Client.id == Visit.client_id).where(member(Visit.external_id, external_ids)))
    for vid, ext, unit_id, client_id, client_ext, start, end, cancelled, instructions in rows:
        by_id[vid] = out[ext] = StoredVisit(vid, unit_id, client_ext or f"#{client_id}", start, end, cancelled,
                                            instructions, [], [])
    if not by_id:
        return out
    for vid, ext, username in db.session.execute(
            select(visit_workers.c.visit_id, User.external_id, User.username)
            .join(User, User.id == visit_workers.c.worker_id).where(member(visit_workers.c.visit_id, by_id))):
        by_id[vid].staff.append(ext or username)  # staff_label
    for vid, code in db.session.execute(
            select(visit_interventions.c.visit_id, CarePlanIntervention.code)
            .join(CarePlanIntervention, CarePlanIntervention.id == visit_interventions.c.intervention_id)
            .where(member(visit_interventions.c.visit_id, by_id))):
        by_id[vid].interventions.append(code)
    for visit in by_id.values():
        visit.staff.sort()
        visit.interventions.sort()
    return out


class VisitPlanner:
    """Plans the visits of one import, chunk by chunk, against the plan of its people (plan.Planner)."""

    def __init__(self, people, problems):
        self.people, self.problems = people, problems
        self.clients, self.staff = {}, {}  # label → what client_of / staff_of said, asked once per label
        self.spans = {}  # staff label → array('q') of start, end (µs since 1970), position: not-cancelled visits
        self.worker_ids = {}  # staff label → the stored user's id (their stored visits count as bookings)
        self.client_ids = set()  # stored clients whose visits the diff shows (the access log)

    def client(self, record):
        found, why = self.clients[record.values["client"]]
        if why:
            self.problems.append(record.problem("client", why))
        return found

    def staff_refs(self, record):
        """The row's staff as (unit ref, role, active, label, user id), or None (each unknown one's problem)."""
        refs = []
        for ext in record.values["staff"]:
            if ext not in self.staff:
                self.staff[ext] = self.people.staff_of(ext)
            found, why = self.staff[ext]
            if why:
                self.problems.append(record.problem("staff", why))
            refs.append(found)
        return None if None in refs else refs

    def plan(self, records):
        """The changes of a chunk's records (unchanged ones too, without before/after); problems are recorded."""
        exts = {r.values["client"] for r in records}
        self.people.look_up(exts, {s for r in records for s in r.values["staff"]})
        for ext in exts - self.clients.keys():
            self.clients[ext] = self.people.client_of(ext)
        self.people.codes_of({found[1].id for found, _ in map(self.clients.get, exts)
                              if found and found[1] is not None})  # one query for the chunk's new clients
        stored_by_ext = stored_visits([r.key for r in records])
        changes = []
        for record in records:
            change = self.plan_one(record, stored_by_ext.get(record.key))
            if change is not None:
                changes.append(change)
        return changes

    def plan_one(self, record, stored):
        v = record.values
        found = self.client(record)
        if found is None or not self.people.claim(record, stored, stored and stored.unit_id):
            return None
        unit, client, client_label = found
        staff = self.staff_refs(record)
        if staff is None:
            return None
        wrong = [ext for ext, ref in zip(v["staff"], staff) if not self.people.same_unit(ref[0], unit)]
        if wrong:
            self.problems.append(record.problem("staff", f"{', '.join(wrong)} hör inte till brukarens enhet."))
            return None
        not_workers = [ext for ext, ref in zip(v["staff"], staff) if ref[1] != "worker" or not ref[2]]
        if not_workers:
            self.problems.append(record.problem("staff", f"{', '.join(not_workers)} är inte aktiv "
                                                         "vårdpersonal (roll worker)."))
            return None
        interventions = v.get("interventions")
        if interventions:
            known = self.known_codes(client, client_label)
            unknown = [c for c in interventions if c not in known]
            if unknown:
                self.problems.append(record.problem("interventions", f"{', '.join(unknown)} finns inte i "
                                                                     "brukarens genomförandeplan."))
                return None
        labels = sorted_labels(tuple(ref[3] for ref in staff))
        cancelled = bool(v.get("cancelled"))
        if client is not None:
            self.client_ids.add(client.id)
        if not cancelled:
            start, end = micros(v["start"]), micros(v["end"])
            for ref in staff:
                self.spans.setdefault(ref[3], array("q")).extend((start, end, record.position))
                if ref[4] is not None:
                    self.worker_ids[ref[3]] = ref[4]
        if stored is not None and same(stored, v, client_label, labels, cancelled):
            return Change("visits", record.key, "unchanged", None, None, record, stored)
        after = {"client": client_label, "start": when(v["start"]), "end": when(v["end"]), "staff": list(labels),
                 "cancelled": cancelled}
        if interventions is not None:
            after["interventions"] = sorted(interventions)
        if "instructions" in v:
            after["instructions"] = v["instructions"]
        record.extra = {"client": client, "client_label": client_label}
        if stored is None:
            return Change("visits", record.key, "created", None, after, record, None)
        before = {k: stored.value(k) for k in after}
        action = "cancelled" if cancelled and not stored.cancelled else "changed"
        return Change("visits", record.key, action, before, after, record, stored)

    def known_codes(self, client, client_label):
        stored = self.people.codes_of((client.id,))[client.id] if client is not None else {}
        return stored.keys() | self.people.new_codes.get(client_label, set())

    def double_bookings(self, keys):
        """A worker in two visits at once — among the imported visits and the stored ones they do not replace."""
        if not self.spans:
            return
        lo = min(min(spans[0::3]) for spans in self.spans.values())
        hi = max(max(spans[1::3]) for spans in self.spans.values())
        labels = {user_id: label for label, user_id in self.worker_ids.items()}
        stored = {}
        for part in chunked(labels):
            for vid, ext, start, end, worker_id in db.session.execute(
                    select(Visit.id, Visit.external_id, Visit.planned_start, Visit.planned_end,
                           visit_workers.c.worker_id)
                    .join(visit_workers, visit_workers.c.visit_id == Visit.id)
                    .where(member(visit_workers.c.worker_id, part), Visit.cancelled.is_(False),
                           Visit.planned_end > EPOCH + lo * MICROSECOND, Visit.planned_start < EPOCH + hi * MICROSECOND),
                    execution_options={"yield_per": STREAMED}):  # a re-import's whole schedule: streamed
                if ext not in keys:
                    stored.setdefault(labels[worker_id], []).append((micros(start), micros(end),
                                                                     f"besök {ext or '#' + str(vid)}"))
        for label, spans in self.spans.items():
            items = [(spans[i], spans[i + 1], spans[i + 2]) for i in range(0, len(spans), 3)] + stored.get(label, [])
            items.sort(key=lambda item: (item[0], item[1]))
            for (s1, e1, first), (s2, e2, second) in zip(items, items[1:]):
                if s2 < e1 and not (isinstance(first, str) and isinstance(second, str)):
                    row, other = (second, first) if not isinstance(second, str) else (first, second)
                    where = other if isinstance(other, str) else "{} rad {}".format(*keys.where(other))
                    source, line = keys.where(row)
                    self.problems.append(Problem(source, line, "staff", f"{label} är dubbelbokad: krockar med {where}."))


@lru_cache(maxsize=STAFF_LABELS)
def sorted_labels(labels):
    return tuple(sorted(labels))


def same(stored, v, client_label, labels, cancelled):
    """Whether a row says what the stored visit already is (only the columns the row has)."""
    return (stored.start == v["start"] and stored.end == v["end"] and stored.cancelled == cancelled
            and stored.client == client_label and tuple(stored.staff) == labels
            and ("interventions" not in v or stored.interventions == sorted(v["interventions"]))
            and ("instructions" not in v or stored.instructions == v["instructions"]))
