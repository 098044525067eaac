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
from .rows import Problem, read_records

ACTIONS = ("created", "changed", "unchanged", "cancelled")
DIFF_ITEMS = 500  # rows per kind listed in a diff (the counts are always complete)


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


def summary(diff):
    """One line per kind in Swedish: "besök: 3 nya, 1 ändrad, 40 oförändrade, 2 inställda"."""
    words = {"created": "nya", "changed": "ändrade", "unchanged": "oförändrade", "cancelled": "inställda"}
    return "; ".join(f"{kind}: " + ", ".join(f"{counts[a]} {words[a]}" for a in ACTIONS)
                     for kind, counts in diff.items())


def diff_of(changes, limit):
    out = {}
    for kind in KINDS:
        items = changes.get(kind, [])
        if not items:
            continue
        counts = {a: 0 for a in ACTIONS}
        listed = []
        for c in items:
            counts[c.action] += 1
            if c.action != "unchanged" and len(listed) < limit:
                key = "/".join(c.key) if isinstance(c.key, tuple) else c.key
                fields = sorted(c.after) if c.before is None else sorted(k for k in c.after
                                                                         if c.before.get(k) != c.after[k])
                listed.append({"key": key, "action": c.action, "file": c.record.source, "line": c.record.line,
                               "changes": {k: {"before": None if c.before is None else c.before.get(k),
                                               "after": c.after[k]} for k in fields}})
        out[kind] = dict(counts, items=listed)
    return out


def quiet(message):
    pass


def run_import(read, apply, scope=None, actor=None, limit=DIFF_ITEMS, progress=quiet):
    """Check and plan the tables `read()` returns within `scope` (unit ids; None: all) and, if `apply` and
    nothing is wrong, write them. `actor`: {"name", "user_id"?, "token_id"?} for the audit trail; `progress`
    is told each step in Swedish (the command line prints it)."""
    problems = []
    try:
        tables = read()
        records = read_records(tables, problems, progress)
    except ReadError as exc:
        return Outcome([Problem(exc.source, 0, "", exc.message)])
    progress("Läst: " + ", ".join(f"{len(records[k])} {k}" for k in KINDS if records[k]) + ".")
    if problems:
        return Outcome(problems)
    progress("Jämför med det som finns sparat och kontrollerar …")
    with db.session.no_autoflush:
        changes = Planner(records, scope, problems).build()
    if problems:
        problems.sort(key=lambda p: (p.source, p.line, p.column))
        return Outcome(problems)
    outcome = Outcome([], diff_of(changes, limit), client_ids=sorted(
        {c.stored.id for c in changes["clients"] if c.stored} |
        {c.record.extra["client"].id for kind in ("care_plans", "medications", "visits") for c in changes[kind]
         if c.record.extra.get("client") is not None}))
    if apply:
        progress("Skriver …")
        Applier(changes, actor or {"name": "okänd"}).run()
        outcome.applied = True
    return outcome
