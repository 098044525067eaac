"""Importing a municipality's own data (issue 29): units, staff, clients, care plans, medication lists and visits,
matched by the source system's `external_id` and upserted — one code path behind the three doors
(`flask import`, the admin page "Import", POST /api/integration/import).

`run_import(read, apply=…, scope=…, actor=…)` reads (`read()` returns server.importer.read's tables), checks,
plans and (when asked and nothing is wrong) applies in the caller's transaction; the caller commits. Any
problem: nothing is written.
"""
from dataclasses import dataclass, field

from ..extensions import db
from .apply import Applier
from .plan import Planner
from .read import KINDS, ReadError
from .rows import Problem, VisitKeys, read_records, visit_chunks
from .visits import VisitPlanner

ACTIONS = ("created", "changed", "unchanged", "cancelled")
DIFF_ITEMS = 500  # rows per kind listed in a diff (the counts are always complete)
CHUNK = 2000  # visits checked, planned and written together: a few queries each, bounded memory
PROGRESS_EVERY = 50_000  # visits between progress lines


@dataclass
class Outcome:
    problems: list
    diff: dict = field(default_factory=dict)
    applied: bool = False
    client_ids: list = field(default_factory=list)  # stored clients whose data the diff shows (access log)

    @property
    def ok(self):
        return not self.problems

    def as_dict(self):
        return {"ok": self.ok, "applied": self.applied, "diff": self.diff,
                "problems": [p.as_dict() for p in self.problems],
                "summary": summary(self.diff) if self.ok else f"{len(self.problems)} fel; inget har ändrats."}


@dataclass
class Progress:
    """How far an import has come: `step` (read, plan, write, visits, bookings) and a count; str() is the line
    `flask import` prints, the admin page words it in its own language."""

    step: str
    count: int = 0
    applying: bool = False
    counts: dict = field(default_factory=dict)

    def __str__(self):
        if self.step == "read":
            return "Läst: " + ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n) + "."
        if self.step == "visits":
            return f"Besök: {self.count} {'kontrollerade och sparade' if self.applying else 'kontrollerade'} …"
        return {"plan": "Jämför med det som finns sparat och kontrollerar …", "write": "Skriver …",
                "bookings": "Kontrollerar dubbelbokningar …"}[self.step]

    def as_dict(self):
        return {"step": self.step, "count": self.count, "applying": self.applying, "counts": self.counts}


def summary(diff):
    """One line per kind in Swedish: "besök: 3 nya, 1 ändrad, 40 oförändrade, 2 inställda"."""
    words = {"created": "nya", "changed": "ändrade", "unchanged": "oförändrade", "cancelled": "inställda"}
    return "; ".join(f"{kind}: " + ", ".join(f"{counts[a]} {words[a]}" for a in ACTIONS)
                     for kind, counts in diff.items())


class Diff:
    """The counts of every kind and action, and the first `limit` rows per kind that change, as they come."""

    def __init__(self, limit):
        self.limit, self.kinds = limit, {}

    def add(self, c):
        kind = self.kinds.setdefault(c.kind, dict({a: 0 for a in ACTIONS}, items=[]))
        kind[c.action] += 1
        if c.action != "unchanged" and len(kind["items"]) < self.limit:
            key = "/".join(c.key) if isinstance(c.key, tuple) else c.key
            fields = sorted(c.after) if c.before is None else sorted(k for k in c.after
                                                                     if c.before.get(k) != c.after[k])
            kind["items"].append({"key": key, "action": c.action, "file": c.record.source, "line": c.record.line,
                                  "changes": {k: {"before": None if c.before is None else c.before.get(k),
                                                  "after": c.after[k]} for k in fields}})

    def as_dict(self):
        return {kind: self.kinds[kind] for kind in KINDS if kind in self.kinds}


def quiet(message):
    pass


def run_import(read, apply, scope=None, actor=None, limit=DIFF_ITEMS, progress=quiet):
    """Check and plan the tables `read()` returns within `scope` (unit ids; None: all) and, if `apply` and
    nothing is wrong, write them. `actor`: {"name", "user_id"?, "token_id"?} for the audit trail; `progress`
    is told each step in Swedish (the command line prints it). When the outcome is not ok, the caller rolls
    back: an apply writes as it goes and stops at the first problem."""
    for step in import_steps(read, apply, scope, actor, limit):
        if isinstance(step, Outcome):
            return step
        progress(str(step))


def import_steps(read, apply, scope=None, actor=None, limit=DIFF_ITEMS):
    """run_import as a generator: yields Progress as it goes and the Outcome last (the admin page streams them)."""
    try:
        with db.session.no_autoflush:
            yield from _steps(read, apply, scope, actor or {"name": "okänd"}, limit)
    except ReadError as exc:
        yield Outcome([Problem(exc.source, 0, "", exc.message)])


def _steps(read, apply, scope, actor, limit):
    read_problems, problems = [], []  # rows that cannot be read; rows that do not fit with the rest
    tables = read()
    records = read_records([t for t in tables if t.kind != "visits"], read_problems)
    yield Progress("read", counts={k: len(records[k]) for k in records})
    diff, people = Diff(limit), Planner(records, scope, problems)
    if not read_problems:
        yield Progress("plan")
        changes = people.build()
        for kind in changes:
            for c in changes[kind]:
                diff.add(c)
    applier = None
    if apply and not (read_problems or problems):
        yield Progress("write")
        applier = Applier(changes, actor)
        applier.people()
    visits, keys, done = VisitPlanner(people, problems), VisitKeys(), 0
    for chunk in visit_chunks([t for t in tables if t.kind == "visits"], read_problems, keys, CHUNK):
        if not read_problems:
            planned = visits.plan(chunk)
            for c in planned:
                diff.add(c)
            if applier is not None and not problems:
                applier.visits(planned, visits.worker_ids)
        if (done + len(chunk)) // PROGRESS_EVERY > done // PROGRESS_EVERY:
            yield Progress("visits", done + len(chunk), applying=applier is not None and not problems)
        done += len(chunk)
    if read_problems:
        yield Outcome(read_problems)
        return
    if visits.spans:
        yield Progress("bookings")
        visits.double_bookings(keys)
    if problems:
        problems.sort(key=lambda p: (p.source, p.line, p.column))
        yield Outcome(problems)
        return
    client_ids = {c.stored.id for c in changes["clients"] if c.stored} | visits.client_ids | {
        c.record.extra["client"].id for kind in ("care_plans", "medications") for c in changes[kind]
        if c.record.extra.get("client") is not None}
    yield Outcome([], diff.as_dict(), applied=applier is not None, client_ids=sorted(client_ids))
