"""Applying a checked plan in the caller's transaction: units, staff, clients, care plans and medication lists
(bounded by the municipality), then visits a chunk at a time, each change written to the audit trail. New rows
go in one statement per kind or chunk; stored people are changed through their ORM objects, stored visits by
one UPDATE per chunk. Visits are cancelled, never deleted. Unchanged rows are not written."""
from sqlalchemy import bindparam, delete, select, update

from ..assignments import restaff
from ..dbutil import insert_rows, member
from ..extensions import db
from ..models import CarePlanIntervention, Client, Unit, User, Visit, utcnow, visit_interventions, visit_workers
from .models import AuditEntry
from .plan import chunked

NO_PASSWORD = "!"  # not a hash werkzeug accepts: an imported person cannot log in until a password is set
ENTITY = {"units": "unit", "staff": "staff", "clients": "client", "care_plans": "care_plan",
          "medications": "medications", "visits": "visit"}
BATCH = 2000  # objects per flush: bounded memory in the session's unit of work, few round trips
VISITS = Visit.__table__
CARD = ("relatives", "responsible_nurse", "notes")  # columns kept in a client's person card


class New:
    """A client this import inserted: what visits and the audit trail need of it."""

    __slots__ = ("id", "unit_id")

    def __init__(self, id_, unit_id):
        self.id, self.unit_id = id_, unit_id


def untouched(change):
    """An unchanged stored object that already carries its external id: nothing to write."""
    return change.action == "unchanged" and getattr(change.stored, "external_id", change.key) == change.key


def external_key(change):
    return str("/".join(change.key) if isinstance(change.key, tuple) else change.key)[:64]


class Applier:
    def __init__(self, changes, actor):
        self.changes, self.actor = changes, actor  # the people kinds' changes (plan.Planner)
        self.units, self.users, self.clients = {}, {}, {}  # external id → object, as created or matched
        self.codes = {}  # client id → {intervention code: id}, for the visits' interventions
        self.now = utcnow()

    def unit_id(self, ref):
        return ref[1].id if ref[0] == "stored" else self.units[ref[1]]

    def audit(self, entries):
        """The audit trail's rows of (change, entity id, unit id), in one statement."""
        insert_rows(AuditEntry.__table__, [
            {"at": self.now, "actor": self.actor["name"], "actor_user_id": self.actor.get("user_id"),
             "actor_token_id": self.actor.get("token_id"), "unit_id": unit_id, "entity": ENTITY[c.kind],
             "entity_id": entity_id, "action": c.action, "before": c.before, "after": c.after,
             "external_id": external_key(c)} for c, entity_id, unit_id in entries])

    def write(self, kind, table, new_row, update):
        """A kind's changes: created rows in one bulk insert, stored objects changed by `update(change)` (their
        ORM objects, flushed), then the audit rows. Returns [(change, id)] of every change but the unchanged
        objects that already carry their external id (nothing to write for those)."""
        created = [c for c in self.changes[kind] if c.action == "created"]
        done = list(zip(created, insert_rows(table, [new_row(c) for c in created], ids=True)))
        for c in self.changes[kind]:
            if c.action != "created" and not untouched(c):
                update(c)
                done.append((c, c.stored.id))
        db.session.flush()
        return done

    def people(self):
        """Units, staff, clients, care plans and medication lists, in that order (each refers to the ones before)."""
        done = self.write("units", Unit.__table__, self.new_unit, self.update_unit)
        self.units.update({c.key: c.stored.id for c in self.changes["units"] if c.stored is not None})
        self.units.update({c.key: id_ for c, id_ in done})
        self.audit([(c, id_, id_) for c, id_ in done if c.action != "unchanged"])

        done = self.write("staff", User.__table__, self.new_user, self.update_user)
        self.users.update({c.key: c.stored.id for c in self.changes["staff"] if c.stored is not None})
        self.users.update({c.key: id_ for c, id_ in done})
        self.audit([(c, id_, self.unit_id(c.record.extra["unit_ref"])) for c, id_ in done if c.action != "unchanged"])

        lists = {c.key: c.after["list"] for c in self.changes["medications"] if c.stored is None}
        done = self.write("clients", Client.__table__, lambda c: self.new_client(c, lists.get(c.key)),
                          self.update_client)
        self.clients.update({c.key: c.stored for c in self.changes["clients"] if c.stored is not None})
        self.clients.update({c.key: New(id_, self.unit_id(c.record.extra["unit_ref"])) for c, id_ in done
                             if c.stored is None})
        self.audit([(c, id_, self.clients[c.key].unit_id) for c, id_ in done if c.action != "unchanged"])

        done = self.write("care_plans", CarePlanIntervention.__table__, self.new_intervention,
                          self.update_intervention)
        for c, _ in done:
            if isinstance(self.client(c), Client):  # new clients are stamped already
                self.client(c).updated_at = self.now  # the phones' next pull sends the plan
        self.audit([(c, id_, self.client(c).unit_id) for c, id_ in done])

        changed = [c for c in self.changes["medications"] if c.action != "unchanged"]
        for c in changed:
            if c.stored is not None:  # a new client got its list when it was inserted
                c.stored.medication_list = c.after["list"]
                c.stored.updated_at = self.now
        db.session.flush()
        self.audit([(c, self.client(c).id, self.client(c).unit_id) for c in changed])

    def new_unit(self, c):
        return {"code": c.key, "external_id": c.key, "name": c.after["name"]}

    def update_unit(self, c):
        c.stored.external_id, c.stored.name = c.key, c.after["name"]

    def new_user(self, c):
        v = c.record.values
        return {"external_id": c.key, "unit_id": self.unit_id(c.record.extra["unit_ref"]), "username": v["username"],
                "display_name": v["name"], "role": v["role"], "password_hash": NO_PASSWORD,
                "active": v.get("active", True)}

    def update_user(self, c):
        v, user = c.record.values, c.stored
        user.external_id, user.unit_id, user.username = c.key, self.unit_id(c.record.extra["unit_ref"]), v["username"]
        user.display_name, user.role = v["name"], v["role"]
        if "active" in v:
            user.active = v["active"]

    def new_client(self, c, medication_list):
        v = c.record.values
        return {"unit_id": self.unit_id(c.record.extra["unit_ref"]), "external_id": c.key,
                "personal_number": v["personal_number"], "name": v["name"], "address": v["address"],
                "key_reference": v["key_ref"], "key_note": v.get("key_note"), "phone": v.get("phone"),
                "care_plan_summary": v.get("care_plan_summary"), "medication_list": medication_list,
                "person_card": {k: v[k] for k in CARD if k in v}, "updated_at": self.now}

    def update_client(self, c):
        v, client = c.record.values, c.stored
        client.unit_id = self.unit_id(c.record.extra["unit_ref"])
        client.external_id, client.personal_number, client.name = c.key, v["personal_number"], v["name"]
        client.address, client.key_reference = v["address"], v["key_ref"]
        for column in ("key_note", "phone", "care_plan_summary"):
            if column in v:
                setattr(client, column, v[column])
        client.person_card = dict(client.person_card or {}, **{k: v[k] for k in CARD if k in v})
        if c.action != "unchanged":
            client.updated_at = self.now  # the phones' next pull sends it

    def client(self, change):
        """The client a row refers to: its stored ORM object, or the New one this import inserted."""
        return change.record.extra.get("client") or self.clients[change.record.values["client"]]

    def new_intervention(self, c):
        return {"client_id": self.client(c).id, "code": c.record.values["intervention"], "title": c.after["title"],
                "planned_minutes": c.after["planned_minutes"], "description": c.after.get("description")}

    def update_intervention(self, c):
        c.stored.planned_minutes, c.stored.title = c.after["planned_minutes"], c.after["title"]
        if "description" in c.after:
            c.stored.description = c.after["description"]

    # ------------------------------------------------------------------------------------------------ visits

    def visits(self, changes, worker_ids):
        """Write a chunk of planned visits (visits.VisitPlanner): new ones by bulk load, moved, re-staffed or
        cancelled ones by one UPDATE each; `worker_ids`: staff label → id of staff stored before this import."""
        created = [c for c in changes if c.action == "created"]
        updated = [c for c in changes if c.action in ("changed", "cancelled")]
        if not (created or updated):
            return
        self.load_codes({self.client(c).id for c in created + updated if "interventions" in c.after})
        staff = {label: (self.users[label] if label in self.users else worker_ids[label])
                 for c in created + updated for label in c.after["staff"]}
        ids = {c.key: c.stored.id for c in updated}
        ids.update(zip([c.key for c in created], insert_rows(VISITS, [self.visit_row(c) for c in created], ids=True)))
        if updated:
            db.session.execute(update(VISITS).where(VISITS.c.id == bindparam("b_id")).values(
                revision=VISITS.c.revision + 1, **{k: bindparam(f"b_{k}") for k in self.visit_row(updated[0])}),
                [{"b_id": c.stored.id, **{f"b_{k}": v for k, v in self.visit_row(c).items()}} for c in updated])
            restaff({c.stored.id: [staff[label] for label in c.after["staff"]] for c in updated})
            db.session.execute(delete(visit_interventions).where(member(
                visit_interventions.c.visit_id, [c.stored.id for c in updated if "interventions" in c.after])))
        insert_rows(visit_workers, [{"visit_id": ids[c.key], "worker_id": staff[label]}
                                    for c in created for label in c.after["staff"]])
        insert_rows(visit_interventions, [
            {"visit_id": ids[c.key], "intervention_id": self.codes[self.client(c).id][code]}
            for c in created + updated for code in c.after.get("interventions", ())])
        self.audit([(c, ids[c.key], self.client(c).unit_id) for c in created + updated])

    def visit_row(self, c):
        """The visits row a planned visit writes (over a stored one: its instructions stay if the file has none)."""
        v, client = c.record.values, self.client(c)
        row = {"external_id": c.key, "client_id": client.id, "unit_id": client.unit_id,
               "planned_start": v["start"], "planned_end": v["end"], "cancelled": c.after["cancelled"],
               "instructions": v["instructions"] if "instructions" in v else c.stored and c.stored.instructions,
               "updated_at": self.now}  # also when only the staff changed: the phones' next pull sends it
        if c.stored is None:
            row["revision"] = 0
        return row

    def load_codes(self, client_ids):
        """The care plan interventions of clients the visits name (the first of a code wins), once per client."""
        missing = client_ids - self.codes.keys()
        for i in missing:
            self.codes[i] = {}
        for part in chunked(missing):
            for client_id, code, item_id in db.session.execute(
                    select(CarePlanIntervention.client_id, CarePlanIntervention.code, CarePlanIntervention.id)
                    .where(member(CarePlanIntervention.client_id, part)).order_by(CarePlanIntervention.id)):
                self.codes[client_id].setdefault(code, item_id)
