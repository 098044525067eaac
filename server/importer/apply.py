"""Applying a checked plan: create and update units, staff, clients, care plans, medication lists and visits
in the caller's transaction, each change written to the audit trail. Visits are cancelled, never deleted.
Unchanged rows are not written; the rest is flushed in batches (one statement per table and batch)."""
from sqlalchemy import insert, select

from ..extensions import db
from ..models import CarePlanIntervention, Client, Unit, User, Visit, utcnow, visit_interventions, visit_workers
from .models import AuditEntry
from .plan import chunked

NO_PASSWORD = "!"  # not a hash werkzeug accepts: an imported person cannot log in until a password is set
ENTITY = {"units": "unit", "staff": "staff", "clients": "client", "care_plans": "care_plan",
          "medications": "medications", "visits": "visit"}
BATCH = 2000  # objects per flush: bounded memory in the session's unit of work, few round trips


class Applier:
    def __init__(self, changes, actor):
        self.changes, self.actor = changes, actor
        self.units, self.users, self.clients = {}, {}, {}  # external id → object, as created or matched
        self.now = utcnow()

    def unit(self, ref):
        return ref[1] if ref[0] == "stored" else self.units[ref[1]]

    def write(self, done):
        """Flush a batch of (change, object, unit_id) and add their audit rows in one statement."""
        db.session.flush()
        rows = [{"at": self.now, "actor": self.actor["name"], "actor_user_id": self.actor.get("user_id"),
                 "actor_token_id": self.actor.get("token_id"), "unit_id": unit_id(), "entity": ENTITY[c.kind],
                 "entity_id": obj.id, "action": c.action, "before": c.before, "after": c.after,
                 "external_id": str("/".join(c.key) if isinstance(c.key, tuple) else c.key)[:64]}
                for c, obj, unit_id in done if c.action != "unchanged"]
        if rows:
            db.session.execute(insert(AuditEntry.__table__), rows)  # Core: the ORM's bulk path cost 3× more
        done.clear()

    def each(self, kind, make):
        """`make(change)` → (object, unit_id callable) for every change not skipped (None); batched writes."""
        done = []
        for change in self.changes[kind]:
            made = make(change)
            if made is None:
                continue
            db.session.add(made[0])
            done.append((change, *made))
            if len(done) >= BATCH:
                self.write(done)
        self.write(done)

    def kept(self, change, by_key):
        """An unchanged object already carrying its external id needs no write; it is only remembered."""
        if change.action == "unchanged" and change.stored.external_id == change.key:
            by_key[change.key] = change.stored
            return True
        return False

    def make_unit(self, c):
        if self.kept(c, self.units):
            return None
        unit = c.stored or Unit(code=c.key)
        unit.external_id, unit.name = c.key, c.after["name"]
        self.units[c.key] = unit
        return unit, lambda: unit.id

    def make_user(self, c):
        if self.kept(c, self.users):
            return None
        v = c.record.values
        user = c.stored or User(password_hash=NO_PASSWORD)
        unit = self.unit(c.record.extra["unit_ref"])
        user.external_id, user.unit, user.username = c.key, unit, v["username"]
        user.display_name, user.role = v["name"], v["role"]
        if "active" in v:
            user.active = v["active"]
        self.users[c.key] = user
        return user, lambda: unit.id

    def make_client(self, c):
        if self.kept(c, self.clients):
            return None
        v = c.record.values
        client = c.stored or Client(person_card={})
        unit = self.unit(c.record.extra["unit_ref"])
        client.unit_id = unit.id
        client.external_id, client.personal_number, client.name = c.key, v["personal_number"], v["name"]
        client.address, client.key_reference = v["address"], v["key_ref"]
        for column in ("key_note", "phone", "care_plan_summary"):
            if column in v:
                setattr(client, column, v[column])
        card = dict(client.person_card or {})
        for column in ("relatives", "responsible_nurse", "notes"):
            if column in v:
                card[column] = v[column]
        client.person_card = card
        if c.action != "unchanged":
            client.updated_at = self.now  # the phones' next pull sends it
        self.clients[c.key] = client
        return client, lambda: client.unit_id

    def client(self, change):
        return change.record.extra.get("client") or self.clients[change.record.values["client"]]

    def make_intervention(self, c):
        if c.action == "unchanged":
            return None
        client = self.client(c)
        item = c.stored or CarePlanIntervention(client_id=client.id, code=c.record.values["intervention"])
        item.planned_minutes, item.title = c.after["planned_minutes"], c.after["title"]
        if "description" in c.after:
            item.description = c.after["description"]
        client.updated_at = self.now
        return item, lambda: client.unit_id

    def make_medications(self, c):
        if c.action == "unchanged":
            return None
        client = self.client(c)
        client.medication_list = c.after["list"]
        client.updated_at = self.now
        return client, lambda: client.unit_id

    def make_visit(self, c):
        if c.action == "unchanged" or c.stored is None:  # new visits: insert_visits
            return None
        v = c.record.values
        client = self.client(c)
        visit = db.session.get(Visit, c.stored.id)  # new visits go by insert_visits
        visit.revision = (visit.revision or 0) + 1  # the phone shows "ändrad" / "inställd"
        visit.external_id, visit.client_id, visit.unit_id = c.key, client.id, client.unit_id
        visit.planned_start, visit.planned_end = v["start"], v["end"]
        visit.cancelled = bool(v.get("cancelled"))
        if "instructions" in v:
            visit.instructions = v["instructions"]
        visit.restaff([self.staff(label) for label in c.after["staff"]])
        if "interventions" in v:
            visit.interventions = [self.codes[client.id][code] for code in c.after["interventions"]]
        visit.updated_at = self.now  # a change of staff alone does not touch the row: the pull needs it
        return visit, lambda: visit.unit_id

    def insert_visits(self):
        """New visits in Core statements, a batch at a time: a schedule is most of an import, and ORM objects
        for hundreds of thousands of new visits cost minutes."""
        new = [c for c in self.changes["visits"] if c.action == "created"]
        for start in range(0, len(new), BATCH):
            batch = new[start:start + BATCH]
            rows = []
            for c in batch:
                v, client = c.record.values, self.client(c)
                rows.append({"external_id": c.key, "client_id": client.id, "unit_id": client.unit_id,
                             "planned_start": v["start"], "planned_end": v["end"],
                             "cancelled": bool(v.get("cancelled")), "instructions": v.get("instructions"),
                             "revision": 0, "updated_at": self.now})
            table = Visit.__table__
            ids = dict(db.session.execute(insert(table).returning(table.c.external_id, table.c.id), rows).all())
            workers = [{"visit_id": ids[c.key], "worker_id": self.staff(label).id}
                       for c in batch for label in c.after["staff"]]
            db.session.execute(insert(visit_workers), workers)
            planned = [{"visit_id": ids[c.key], "intervention_id": self.codes[self.client(c).id][code].id}
                       for c in batch for code in c.after.get("interventions", ())]
            if planned:
                db.session.execute(insert(visit_interventions), planned)
            self.write([(c, Ref(ids[c.key]), lambda c=c: self.client(c).unit_id) for c in batch])

    def load_codes(self):
        """The care plan interventions of every client a new or changed visit names (the first of a code wins)."""
        ids = {self.client(c).id for c in self.changes["visits"] if c.action != "unchanged"}
        self.codes = {}
        for part in chunked(ids):
            for item in db.session.scalars(select(CarePlanIntervention).where(
                    CarePlanIntervention.client_id.in_(part)).order_by(CarePlanIntervention.id)):
                self.codes.setdefault(item.client_id, {}).setdefault(item.code, item)

    def staff(self, label):
        """A staff member by the label the plan used: external id, or username for one stored before imports."""
        if label not in self.users:
            self.users[label] = (
                db.session.scalar(select(User).where(User.external_id == label))
                or db.session.scalar(select(User).where(User.username == label, User.external_id.is_(None))))
        return self.users[label]

    def run(self):
        self.each("units", self.make_unit)
        self.each("staff", self.make_user)
        self.each("clients", self.make_client)
        self.each("care_plans", self.make_intervention)
        self.each("medications", self.make_medications)
        self.load_codes()
        self.each("visits", self.make_visit)
        self.insert_visits()
        db.session.flush()


class Ref:
    """The id of a row written without an ORM object (new visits), where the audit trail asks for `.id`."""

    def __init__(self, id_):
        self.id = id_
