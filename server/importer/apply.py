"""Applying a checked plan: create and update units, staff, clients, care plans, medication lists and visits
in the caller's transaction, each change written to the audit trail. Visits are cancelled, never deleted."""
from sqlalchemy import select

from ..extensions import db
from ..models import CarePlanIntervention, Client, Unit, User, Visit, utcnow
from .models import AuditEntry

NO_PASSWORD = "!"  # not a hash werkzeug accepts: an imported person cannot log in until a password is set
ENTITY = {"units": "unit", "staff": "staff", "clients": "client", "care_plans": "care_plan",
          "medications": "medications", "visits": "visit"}


class Applier:
    def __init__(self, changes, actor):
        self.changes, self.actor = changes, actor
        self.units, self.users, self.clients = {}, {}, {}  # external id → object, as created or matched
        self.now = utcnow()

    def unit(self, ref):
        return ref[1] if ref[0] == "stored" else self.units[ref[1]]

    def audit(self, change, obj, unit_id):
        if change.action == "unchanged":
            return
        db.session.add(AuditEntry(actor=self.actor["name"], actor_user_id=self.actor.get("user_id"),
                                  actor_token_id=self.actor.get("token_id"), unit_id=unit_id,
                                  entity=ENTITY[change.kind], entity_id=obj.id,
                                  external_id=str(change.key if change.kind != "care_plans" else
                                                  "/".join(change.key))[:64],
                                  action=change.action, before=change.before, after=change.after, at=self.now))

    def kept(self, change, by_key):
        """An unchanged object already carrying its external id needs no write; it is only remembered."""
        if change.action == "unchanged" and change.stored.external_id == change.key:
            by_key[change.key] = change.stored
            return True
        return False

    def apply_units(self):
        for c in self.changes["units"]:
            if self.kept(c, self.units):
                continue
            unit = c.stored or Unit(code=c.key)
            unit.external_id, unit.name = c.key, c.after["name"]
            db.session.add(unit)
            db.session.flush()
            self.units[c.key] = unit
            self.audit(c, unit, unit.id)

    def apply_staff(self):
        for c in self.changes["staff"]:
            if self.kept(c, self.users):
                continue
            v = c.record.values
            user = c.stored or User(password_hash=NO_PASSWORD)
            unit = self.unit(c.record.extra["unit_ref"])
            user.external_id, user.unit_id, user.username = c.key, unit.id, v["username"]
            user.display_name, user.role = v["name"], v["role"]
            if "active" in v:
                user.active = v["active"]
            db.session.add(user)
            db.session.flush()
            self.users[c.key] = user
            self.audit(c, user, unit.id)

    def apply_clients(self):
        for c in self.changes["clients"]:
            if self.kept(c, self.clients):
                continue
            v = c.record.values
            client = c.stored or Client(person_card={})
            client.unit_id = self.unit(c.record.extra["unit_ref"]).id
            client.external_id, client.personal_number, client.name = c.key, v["personal_number"], v["name"]
            client.address, client.key_reference = v["address"], v["key_ref"]
            for column, attr in (("key_note", "key_note"), ("phone", "phone"),
                                 ("care_plan_summary", "care_plan_summary")):
                if column in v:
                    setattr(client, attr, v[column])
            card = dict(client.person_card or {})
            for column in ("relatives", "responsible_nurse", "notes"):
                if column in v:
                    card[column] = v[column]
            client.person_card = card
            if c.action != "unchanged":
                client.updated_at = self.now  # the phones' next pull sends it
            db.session.add(client)
            db.session.flush()
            self.clients[c.key] = client
            self.audit(c, client, client.unit_id)

    def client(self, change):
        return change.record.extra.get("client") or self.clients[change.record.values["client"]]

    def apply_care_plans(self):
        for c in self.changes["care_plans"]:
            client = self.client(c)
            item = c.stored or CarePlanIntervention(client_id=client.id, code=c.record.values["intervention"])
            item.planned_minutes, item.title = c.after["planned_minutes"], c.after["title"]
            if "description" in c.after:
                item.description = c.after["description"]
            db.session.add(item)
            if c.action != "unchanged":
                client.updated_at = self.now
            db.session.flush()
            self.audit(c, item, client.unit_id)

    def apply_medications(self):
        for c in self.changes["medications"]:
            client = self.client(c)
            if c.action != "unchanged":
                client.medication_list = c.after["list"]
                client.updated_at = self.now
            self.audit(c, client, client.unit_id)

    def apply_visits(self):
        codes = {}
        for c in self.changes["visits"]:
            if c.action == "unchanged":
                continue
            v = c.record.values
            client = self.client(c)
            if client.id not in codes:
                codes[client.id] = {i.code: i for i in db.session.scalars(
                    select(CarePlanIntervention).where(CarePlanIntervention.client_id == client.id)
                    .order_by(CarePlanIntervention.id.desc()))}  # the first of a code wins, as in the plan
            visit = c.stored or Visit(revision=0)
            if c.stored is not None:
                visit.revision = (visit.revision or 0) + 1  # the phone shows "ändrad" / "inställd"
            visit.external_id, visit.client_id, visit.unit_id = c.key, client.id, client.unit_id
            visit.planned_start, visit.planned_end = v["start"], v["end"]
            visit.cancelled = bool(v.get("cancelled"))
            if "instructions" in v:
                visit.instructions = v["instructions"]
            visit.workers = [self.staff(label) for label in c.after["staff"]]
            if "interventions" in v:
                visit.interventions = [codes[client.id][code] for code in c.after["interventions"]]
            visit.updated_at = self.now  # a change of staff alone does not touch the row: the pull needs it
            db.session.add(visit)
            db.session.flush()
            self.audit(c, visit, visit.unit_id)

    def staff(self, label):
        """A staff member by the label the plan used: external id, or username for one stored before imports."""
        if label not in self.users:
            self.users[label] = (
                db.session.scalar(select(User).where(User.external_id == label))
                or db.session.scalar(select(User).where(User.username == label, User.external_id.is_(None))))
        return self.users[label]

    def run(self):
        self.apply_units()
        self.apply_staff()
        self.apply_clients()
        self.apply_care_plans()
        self.apply_medications()
        self.apply_visits()
        db.session.flush()

