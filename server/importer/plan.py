"""The plan of an import: every record matched with what is stored (by external_id), its references resolved,
the cross-row checks made (unknown references, other units, a worker double-booked), and the diff
(created / changed / unchanged / cancelled) — the same for a dry run and an apply."""
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import CarePlanIntervention, Client, Unit, User, Visit, visit_interventions, visit_workers
from .fields import LOCAL
from .rows import KIND_LABEL

CHUNK = 2000  # ids per IN (…): SQLite's and psycopg's parameter limits stay far away


@dataclass
class Change:
    kind: str
    key: object
    action: str  # created | changed | unchanged | cancelled
    before: dict
    after: dict
    record: object
    stored: object  # the stored object, None when created


def chunked(ids):
    ids = sorted(ids, key=str)
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def load_by(model, column, values, *options):
    out = {}
    for part in chunked(set(values)):
        for obj in db.session.scalars(select(model).where(column.in_(part)).options(*options)):
            out.setdefault(getattr(obj, column.key), obj)
    return out


def unit_label(unit):
    return unit.external_id or unit.code


def staff_label(user):
    return user.external_id or user.username


def when(moment):
    """A visit's time in the diff and the audit trail: Swedish local time with its offset (exact, and as read)."""
    return moment.astimezone(LOCAL).isoformat()


class Planner:
    """Builds the plan for the records of one import, within `scope` (unit ids; None: every unit)."""

    def __init__(self, records, scope, problems):
        self.records, self.scope, self.problems = records, scope, problems
        self.changes = {kind: [] for kind in records}
        units = db.session.scalars(select(Unit)).all()
        self.units_by_ext = {u.external_id: u for u in units if u.external_id}
        self.units_by_code = {u.code: u for u in units if not u.external_id}
        self.unit_codes = {u.code for u in units}
        staff_refs = set(records["staff"]) | {s for r in records["visits"].values() for s in r.values["staff"]}
        usernames = {r.values["username"] for r in records["staff"].values()} | staff_refs
        self.users_by_ext = load_by(User, User.external_id, staff_refs)
        self.users_by_name = load_by(User, User.username, usernames)
        client_refs = set(records["clients"]) | {r.values["client"] for kind in ("care_plans", "medications",
                                                                                  "visits")
                                                 for r in records[kind].values()}
        self.clients_by_ext = load_by(Client, Client.external_id, client_refs)
        pnrs = {r.values["personal_number"] for r in records["clients"].values()}
        self.clients_by_pnr = {}
        for part in chunked(pnrs):
            for c in db.session.scalars(select(Client).where(Client.personal_number.in_(part),
                                                             Client.external_id.is_(None))):
                self.clients_by_pnr.setdefault((c.unit_id, c.personal_number), c)
        self.visits_by_ext = stored_visits(records["visits"])

    # ---------------------------------------------------------------------------------------- references

    def in_scope(self, unit_id):
        return self.scope is None or unit_id in self.scope

    def unit_ref(self, record, column):
        """('stored', Unit) or ('new', key) for a unit column, or None (a problem is recorded)."""
        ext = record.values[column]
        if ext in self.records["units"]:
            target = self.records["units"][ext].extra.get("target")
            return target and (("stored", target) if not isinstance(target, str) else ("new", ext))
        unit = self.units_by_ext.get(ext) or self.units_by_code.get(ext)
        if unit is None:
            self.problems.append(record.problem(column, f"Okänd enhet {ext!r}: finns varken i importen eller "
                                                        "bland sparade enheter."))
            return None
        if not self.in_scope(unit.id):
            self.problems.append(record.problem(column, f"Enheten {ext!r} är inte en av dina enheter."))
            return None
        return ("stored", unit)

    def ref_label(self, ref, ext):
        return unit_label(ref[1]) if ref[0] == "stored" else ext

    def client_ref(self, record):
        """(unit ref, Client or None, label) of the row's client, or None (a problem is recorded)."""
        ext = record.values["client"]
        imported = self.records["clients"].get(ext)
        if imported is not None:
            if "unit_ref" not in imported.extra:
                return None  # the client row itself is wrong; its problem is already recorded
            return imported.extra["unit_ref"], imported.extra.get("stored"), ext
        client = self.clients_by_ext.get(ext)
        if client is None or not self.in_scope(client.unit_id):
            self.problems.append(record.problem("client", f"Okänd brukare {ext!r}: finns varken i importen "
                                                          "eller bland dina enheters brukare."))
            return None
        return ("stored", db.session.get(Unit, client.unit_id)), client, ext

    def staff_ref(self, record, ext):
        """(unit ref, role, active, label) of a staff member named in a visit, or None (problem recorded)."""
        imported = self.records["staff"].get(ext)
        if imported is not None:
            if "unit_ref" not in imported.extra:
                return None
            return (imported.extra["unit_ref"], imported.values["role"], imported.values.get("active", True), ext)
        user = self.users_by_ext.get(ext) or (self.users_by_name.get(ext) if ext in self.users_by_name
                                              and self.users_by_name[ext].external_id is None else None)
        if user is None or not self.in_scope(user.unit_id):
            self.problems.append(record.problem("staff", f"Okänd personal {ext!r}: finns varken i importen "
                                                         "eller bland dina enheters personal."))
            return None
        return ("stored", db.session.get(Unit, user.unit_id)), user.role, user.active, staff_label(user)

    def same_unit(self, a, b):
        return a[0] == b[0] and (a[1].id == b[1].id if a[0] == "stored" else a[1] == b[1])

    # ---------------------------------------------------------------------------------------------- diff

    def add(self, record, stored, before, after, cancelled=False):
        if stored is None:
            action = "created"
        elif before == after:
            action, before = "unchanged", None  # nothing to show or write: a second import keeps less in memory
        elif cancelled and not before.get("cancelled"):
            action = "cancelled"
        else:
            action = "changed"
        self.changes[record.kind].append(Change(record.kind, record.key, action, before, after, record, stored))

    def claim(self, record, stored, unit_id):
        """A stored object matched by a record must be in scope; a stored object is matched by one row only."""
        if stored is None:
            return True
        if not self.in_scope(unit_id):
            self.problems.append(record.problem(
                "external_id", f"Id:t {record.key!r} används redan av en {KIND_LABEL[record.kind]} i en annan enhet."))
            return False
        return True

    def units(self):
        for key, record in self.records["units"].items():
            stored = self.units_by_ext.get(key) or self.units_by_code.get(key)
            if stored is not None and not self.in_scope(stored.id):
                self.problems.append(record.problem("external_id", f"Enheten {key!r} är inte en av dina enheter."))
                continue
            if stored is None and self.scope is not None:
                self.problems.append(record.problem("external_id", "Nya enheter kan bara skapas av "
                                                                   "systemförvaltningen (flask import)."))
                continue
            if stored is None and len(key) > 32:
                self.problems.append(record.problem("external_id", "En ny enhets id blir dess kod: högst 32 tecken."))
                continue
            if stored is None and key in self.unit_codes:
                self.problems.append(record.problem("external_id", f"Koden {key!r} används redan av en annan enhet."))
                continue
            record.extra["target"] = stored or key
            after = {"name": record.values["name"]}
            self.add(record, stored, {"name": stored.name} if stored else None, after)

    def staff(self):
        usernames = {}
        for key, record in self.records["staff"].items():
            v = record.values
            stored = self.users_by_ext.get(key)
            if stored is None and v["username"] in self.users_by_name:
                other = self.users_by_name[v["username"]]
                if other.external_id is None:
                    stored = other  # stored before imports began: adopted by its username
                else:
                    self.problems.append(record.problem("username", "Användarnamnet används redan av "
                                                                    f"personal med id {other.external_id!r}."))
                    continue
            elif stored is not None and v["username"] in self.users_by_name and \
                    self.users_by_name[v["username"]].id != stored.id:
                self.problems.append(record.problem("username", "Användarnamnet används redan av någon annan."))
                continue
            if v["username"] in usernames:
                self.problems.append(record.problem("username", "Samma användarnamn finns redan på "
                                                                f"rad {usernames[v['username']]}."))
                continue
            usernames[v["username"]] = record.line
            ref = self.unit_ref(record, "unit")
            if ref is None or not self.claim(record, stored, stored and stored.unit_id):
                continue
            record.extra.update(unit_ref=ref, stored=stored)
            after = {"unit": self.ref_label(ref, v["unit"]), "username": v["username"], "name": v["name"],
                     "role": v["role"]} | ({"active": v["active"]} if "active" in v else {})
            before = stored and {"unit": unit_label(stored.unit), "username": stored.username,
                                 "name": stored.display_name, "role": stored.role, "active": stored.active}
            self.add(record, stored, before and {k: before[k] for k in after}, after)

    def clients(self):
        for key, record in self.records["clients"].items():
            v = record.values
            ref = self.unit_ref(record, "unit")
            if ref is None:
                continue
            stored = self.clients_by_ext.get(key)
            if stored is None and ref[0] == "stored":
                stored = self.clients_by_pnr.get((ref[1].id, v["personal_number"]))  # adopted: no id yet
            if not self.claim(record, stored, stored and stored.unit_id):
                continue
            record.extra.update(unit_ref=ref, stored=stored)
            after = dict(v, unit=self.ref_label(ref, v["unit"]))
            del after["external_id"]
            self.add(record, stored, stored and {k: client_value(stored, k) for k in after}, after)

    def care_plans(self):
        stored_by_client = self.stored_interventions()
        for key, record in self.records["care_plans"].items():
            found = self.client_ref(record)
            if found is None:
                continue
            _, client, _ = found
            v = record.values
            stored = stored_by_client.get(client.id, {}).get(v["intervention"]) if client else None
            record.extra["client"] = client
            after = {"planned_minutes": v["planned_minutes"],
                     "title": v.get("title") or (stored.title if stored else v["intervention"])}
            if "description" in v:
                after["description"] = v["description"]
            before = stored and {"planned_minutes": stored.planned_minutes, "title": stored.title,
                                 "description": stored.description}
            self.add(record, stored, before and {k: before[k] for k in after}, after)

    def stored_interventions(self):
        client_ids = {c.id for c in self.clients_by_ext.values()} | {
            r.extra["stored"].id for r in self.records["clients"].values() if r.extra.get("stored")}
        out = {}
        for part in chunked(client_ids):
            for i in db.session.scalars(select(CarePlanIntervention).where(CarePlanIntervention.client_id.in_(part))
                                        .order_by(CarePlanIntervention.id)):
                out.setdefault(i.client_id, {}).setdefault(i.code, i)
        return out

    def medications(self):
        for key, record in self.records["medications"].items():
            found = self.client_ref(record)
            if found is None:
                continue
            client = found[1]
            record.extra["client"] = client
            after = {"list": record.values["list"]}
            self.add(record, client, {"list": client.medication_list} if client else None, after)

    def visits(self):
        known_codes = self.stored_interventions()
        for client_ext, code in self.records["care_plans"]:
            known_codes.setdefault(("new", client_ext), {})[code] = None
        for key, record in self.records["visits"].items():
            v = record.values
            found = self.client_ref(record)
            stored = self.visits_by_ext.get(key)
            if found is None or not self.claim(record, stored, stored and stored.unit_id):
                continue
            unit, client, client_label = found
            staff = [(ext, self.staff_ref(record, ext)) for ext in v["staff"]]
            if any(ref is None for _, ref in staff):
                continue
            wrong = [ext for ext, (s_unit, role, active, _) in staff if not self.same_unit(s_unit, unit)]
            if wrong:
                self.problems.append(record.problem("staff", f"{', '.join(wrong)} hör inte till brukarens enhet."))
                continue
            not_workers = [ext for ext, (_, role, active, _) in staff if role != "worker" or not active]
            if not_workers:
                self.problems.append(record.problem("staff", f"{', '.join(not_workers)} är inte aktiv "
                                                             "vårdpersonal (roll worker)."))
                continue
            codes = known_codes.get(client.id if client else ("new", client_label), {})
            unknown = [c for c in v.get("interventions", ()) if c not in codes]
            if unknown:
                self.problems.append(record.problem("interventions", f"{', '.join(unknown)} finns inte i "
                                                                     "brukarens genomförandeplan."))
                continue
            record.extra.update(unit_ref=unit, client=client)
            after = {"client": client_label, "start": when(v["start"]), "end": when(v["end"]),
                     "staff": sorted(ref[3] for _, ref in staff), "cancelled": bool(v.get("cancelled"))}
            if "interventions" in v:
                after["interventions"] = sorted(v["interventions"])
            if "instructions" in v:
                after["instructions"] = v["instructions"]
            self.add(record, stored, stored and {k: visit_value(stored, k) for k in after}, after,
                     cancelled=after["cancelled"])

    def double_bookings(self):
        """A worker in two visits at once — among the imported visits and the stored ones they do not replace."""
        imported = {c.key for c in self.changes["visits"]}
        spans = {}
        for c in self.changes["visits"]:
            if not c.after["cancelled"]:
                for label in c.after["staff"]:
                    spans.setdefault(label, []).append((c.record.values["start"], c.record.values["end"], c.record))
        if not spans:
            return
        lo = min(s for items in spans.values() for s, _, _ in items)
        hi = max(e for items in spans.values() for _, e, _ in items)
        users = [u for u in list(self.users_by_ext.values()) + list(self.users_by_name.values())
                 if staff_label(u) in spans]
        for part in chunked({u.id for u in users}):
            rows = db.session.execute(
                select(Visit.id, Visit.external_id, Visit.planned_start, Visit.planned_end, visit_workers.c.worker_id)
                .join(visit_workers, visit_workers.c.visit_id == Visit.id)
                .where(visit_workers.c.worker_id.in_(part), Visit.cancelled.is_(False),
                       Visit.planned_end > lo, Visit.planned_start < hi))
            labels = {u.id: staff_label(u) for u in users}
            for vid, ext, start, end, worker_id in rows:
                if ext not in imported:
                    spans[labels[worker_id]].append((start, end, f"besök {ext or '#' + str(vid)}"))
        for label, items in spans.items():
            items.sort(key=lambda item: (item[0], item[1]))
            for (s1, e1, first), (s2, e2, second) in zip(items, items[1:]):
                if s2 < e1 and not (isinstance(first, str) and isinstance(second, str)):
                    record, other = (second, first) if not isinstance(second, str) else (first, second)
                    where = other if isinstance(other, str) else f"{other.source} rad {other.line}"
                    self.problems.append(record.problem("staff", f"{label} är dubbelbokad: krockar med {where}."))

    def build(self):
        self.units()
        self.staff()
        self.clients()
        self.care_plans()
        self.medications()
        self.visits()
        self.double_bookings()
        return self.changes


def client_value(client, column):
    card = client.person_card or {}
    return {"unit": unit_label(db.session.get(Unit, client.unit_id)),
            "personal_number": client.personal_number, "name": client.name, "address": client.address,
            "key_ref": client.key_reference, "key_note": client.key_note, "phone": client.phone,
            "relatives": card.get("relatives"), "responsible_nurse": card.get("responsible_nurse"),
            "notes": card.get("notes"), "care_plan_summary": client.care_plan_summary}[column]


@dataclass
class StoredVisit:
    """A stored visit as the plan compares it: plain values, not an ORM object (a schedule is hundreds of
    thousands of them; the apply loads the ORM object of a changed one only)."""

    id: int
    unit_id: int
    client_id: int
    values: dict  # the columns of a visits row, as `when`/labels make them


def stored_visits(external_ids):
    """The stored visits with these external ids, in three plain queries per chunk."""
    out = {}
    for part in chunked(external_ids):
        rows = db.session.execute(
            select(Visit.id, Visit.external_id, Visit.unit_id, Visit.client_id, Client.external_id, Visit.planned_start,
                   Visit.planned_end, Visit.cancelled, Visit.instructions)
            .join(Client, Client.id == Visit.client_id).where(Visit.external_id.in_(part))).all()
        by_id = {}
        for vid, ext, unit_id, client_id, client_ext, start, end, cancelled, instructions in rows:
            by_id[vid] = out[ext] = StoredVisit(vid, unit_id, client_id, {
                "client": client_ext or f"#{client_id}", "start": when(start), "end": when(end), "staff": [],
                "interventions": [], "cancelled": cancelled, "instructions": instructions})
        if not by_id:
            continue
        for vid, ext, username in db.session.execute(
                select(visit_workers.c.visit_id, User.external_id, User.username)
                .join(User, User.id == visit_workers.c.worker_id).where(visit_workers.c.visit_id.in_(by_id))):
            by_id[vid].values["staff"].append(ext or username)  # staff_label
        for vid, code in db.session.execute(
                select(visit_interventions.c.visit_id, CarePlanIntervention.code)
                .join(CarePlanIntervention, CarePlanIntervention.id == visit_interventions.c.intervention_id)
                .where(visit_interventions.c.visit_id.in_(by_id))):
            by_id[vid].values["interventions"].append(code)
        for visit in by_id.values():
            visit.values["staff"].sort()
            visit.values["interventions"].sort()
    return out


def visit_value(visit, column):
    return visit.values[column]
