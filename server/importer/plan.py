"""The plan of an import's people kinds (units, staff, clients, care plans, medications — bounded by the
municipality, kept in memory): every record matched with what is stored (by external_id), its references
resolved, the cross-row checks made, and the changes (created / changed / unchanged / cancelled) — the same for
a dry run and an apply. Visits are planned a chunk at a time against this plan (visits.py)."""
from dataclasses import dataclass

from sqlalchemy import select

from ..dbutil import member
from ..extensions import db
from ..models import CarePlanIntervention, Client, Unit, User
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
        for obj in db.session.scalars(select(model).where(member(column, part)).options(*options)):
            out.setdefault(getattr(obj, column.key), obj)
    return out


def unit_label(unit):
    return unit.external_id or unit.code


def staff_label(user):
    return user.external_id or user.username


class Planner:
    """Builds the plan for the records of one import, within `scope` (unit ids; None: every unit)."""

    def __init__(self, records, scope, problems):
        self.records, self.scope, self.problems = records, scope, problems
        self.changes = {kind: [] for kind in records}
        units = db.session.scalars(select(Unit)).all()
        self.units_by_ext = {u.external_id: u for u in units if u.external_id}
        self.units_by_code = {u.code: u for u in units if not u.external_id}
        self.unit_codes = {u.code for u in units}
        usernames = {r.values["username"] for r in records["staff"].values()}
        self.users_by_ext = load_by(User, User.external_id, records["staff"])
        self.users_by_name = load_by(User, User.username, usernames)
        client_refs = set(records["clients"]) | {r.values["client"] for kind in ("care_plans", "medications")
                                                 for r in records[kind].values()}
        self.clients_by_ext = load_by(Client, Client.external_id, client_refs)
        self.looked_up = {"staff": set(records["staff"]) | usernames, "clients": client_refs}
        pnrs = {r.values["personal_number"] for r in records["clients"].values()}
        self.clients_by_pnr = {}
        for part in chunked(pnrs):
            for c in db.session.scalars(select(Client).where(member(Client.personal_number, part),
                                                             Client.external_id.is_(None))):
                self.clients_by_pnr.setdefault((c.unit_id, c.personal_number), c)
        self.codes = {}  # stored client id → {code: its first CarePlanIntervention}, loaded as clients come up
        self.new_codes = {}  # client external id → the intervention codes this import adds to its plan
        for client_ext, code in records["care_plans"]:
            self.new_codes.setdefault(client_ext, set()).add(code)

    def look_up(self, client_exts, staff_labels):
        """Load the stored clients and staff that rows (a chunk of visits) name and that are not known yet."""
        clients = set(client_exts) - self.looked_up["clients"]
        if clients:
            self.clients_by_ext.update(load_by(Client, Client.external_id, clients))
            self.looked_up["clients"] |= clients
        staff = set(staff_labels) - self.looked_up["staff"]
        if staff:
            self.users_by_ext.update(load_by(User, User.external_id, staff))
            self.users_by_name.update(load_by(User, User.username, staff))
            self.looked_up["staff"] |= staff

    def codes_of(self, client_ids):
        """{code: CarePlanIntervention} of stored clients (the first of a code wins), loaded once per client."""
        missing = {i for i in client_ids if i not in self.codes}
        for part in chunked(missing):
            for i in db.session.scalars(select(CarePlanIntervention).where(member(CarePlanIntervention.client_id, part))
                                        .order_by(CarePlanIntervention.id)):
                self.codes.setdefault(i.client_id, {}).setdefault(i.code, i)
        for i in missing:
            self.codes.setdefault(i, {})
        return self.codes

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

    def client_of(self, ext):
        """((unit ref, Client or None, label), None) of a client a row names, or (None, why not) — why is None when
        the client's own row is wrong (its problem is recorded already)."""
        imported = self.records["clients"].get(ext)
        if imported is not None:
            if "unit_ref" not in imported.extra:
                return None, None
            return (imported.extra["unit_ref"], imported.extra.get("stored"), ext), None
        client = self.clients_by_ext.get(ext)
        if client is None or not self.in_scope(client.unit_id):
            return None, f"Okänd brukare {ext!r}: finns varken i importen eller bland dina enheters brukare."
        return (("stored", db.session.get(Unit, client.unit_id)), client, ext), None

    def client_ref(self, record):
        """(unit ref, Client or None, label) of the row's client, or None (a problem is recorded)."""
        found, why = self.client_of(record.values["client"])
        if why:
            self.problems.append(record.problem("client", why))
        return found

    def staff_of(self, ext):
        """((unit ref, role, active, label, stored user's id or None), None) of a staff member a visit names, or
        (None, why not) as client_of."""
        imported = self.records["staff"].get(ext)
        if imported is not None:
            if "unit_ref" not in imported.extra:
                return None, None
            stored = imported.extra["stored"]
            return (imported.extra["unit_ref"], imported.values["role"], imported.values.get("active", True), ext,
                    stored and stored.id), None
        user = self.users_by_ext.get(ext) or (self.users_by_name.get(ext) if ext in self.users_by_name
                                              and self.users_by_name[ext].external_id is None else None)
        if user is None or not self.in_scope(user.unit_id):
            return None, f"Okänd personal {ext!r}: finns varken i importen eller bland dina enheters personal."
        return (("stored", db.session.get(Unit, user.unit_id)), user.role, user.active, staff_label(user),
                user.id), None

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
        return self.codes_of(client_ids)

    def medications(self):
        for key, record in self.records["medications"].items():
            found = self.client_ref(record)
            if found is None:
                continue
            client = found[1]
            record.extra["client"] = client
            after = {"list": record.values["list"]}
            self.add(record, client, {"list": client.medication_list} if client else None, after)

    def build(self):
        self.units()
        self.staff()
        self.clients()
        self.care_plans()
        self.medications()
        return self.changes


def client_value(client, column):
    card = client.person_card or {}
    return {"unit": unit_label(db.session.get(Unit, client.unit_id)),
            "personal_number": client.personal_number, "name": client.name, "address": client.address,
            "key_ref": client.key_reference, "key_note": client.key_note, "phone": client.phone,
            "relatives": card.get("relatives"), "responsible_nurse": card.get("responsible_nurse"),
            "notes": card.get("notes"), "care_plan_summary": client.care_plan_summary}[column]
