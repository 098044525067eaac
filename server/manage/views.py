"""HTTP of managing by hand (/api/admin/…, administrators of the own unit): find, open and change a client, a
staff member or a visit; set a one-time enrolment code. Thin: parse, check the unit, call, log the read, answer.

Another unit's object is a 404, as a missing one (the attempt is access-logged); a worker or a manager is a
403 (server.auth). Every answer that shows clients leaves one access-log row per client shown."""
from flask import Blueprint, g, request

from ..access_log import log_access, log_denied, log_reads
from ..api import json_body
from ..auth import require_auth
from ..errors import ApiError
from ..extensions import db, transactional
from ..models import Client, User, Visit
from . import audit, enrolment, people, visits
from .schemas import ClientIn, EnrolmentIn, SearchQuery, StaffIn, VisitIn, VisitQuery

bp = Blueprint("manage", __name__, url_prefix="/api/admin")

ADMIN = ("admin",)
NOT_HERE = {Client: "Brukaren finns inte i din enhet.", User: "Personen finns inte i din enhet.",
            Visit: "Besöket finns inte i din enhet."}


def own(model, object_id):
    """The object if it belongs to the administrator's unit; else 404 (another unit's: the attempt is logged)."""
    found = db.session.get(model, object_id)
    if found is None or found.unit_id != g.user.unit_id:
        if found is not None:
            client_id = found.id if model is Client else found.client_id if model is Visit else None
            log_denied(g.user, client_id, f"{request.method} {request.path}", detail="other_unit")
        raise ApiError(404, "not_found", NOT_HERE[model])
    return found


# ------------------------------------------------------------------------------------------------- clients

@bp.get("/clients")
@require_auth(roles=ADMIN)
@transactional
def find_clients():
    args = SearchQuery().load(request.args)
    found, more = people.find_clients(g.user.unit_id, args["q"], args["limit"])
    if found:
        log_reads(g.user, [c.id for c in found], "manage_search", device_id=g.device.id)
    return {"clients": [{"id": c.id, "external_id": c.external_id, "name": c.name,
                         "personal_number": c.personal_number, "address": c.address, "key_ref": c.key_reference}
                        for c in found], "more": more}


def client_answer(client, changed=None):
    log_access(g.user, client.id, "manage_client")
    answer = {"client": people.client_out(client), "audit": audit.trail(g.user.unit_id, ("client", "medications"),
                                                                        client.id)}
    return answer if changed is None else {**answer, "changed": changed}


@bp.get("/clients/<int:client_id>")
@require_auth(roles=ADMIN)
@transactional
def get_client(client_id):
    return client_answer(own(Client, client_id))


@bp.patch("/clients/<int:client_id>")
@require_auth(roles=ADMIN)
@transactional
def patch_client(client_id):
    client = own(Client, client_id)
    changed = people.change_client(g.user, client, ClientIn().load(json_body()))
    db.session.flush()
    return client_answer(client, changed)


# --------------------------------------------------------------------------------------------------- staff

@bp.get("/staff")
@require_auth(roles=ADMIN)
def find_staff():
    args = SearchQuery().load(request.args)
    found, more = people.find_staff(g.user.unit_id, args["q"], args["limit"])
    return {"staff": [people.staff_out(u) for u in found], "more": more}


def staff_answer(user, **extra):
    return {"staff": people.staff_out(user), "devices": [people.device_out(d) for d in people.devices_of(user)],
            "audit": audit.trail(g.user.unit_id, ("staff",), user.id), **extra}


@bp.get("/staff/<int:user_id>")
@require_auth(roles=ADMIN)
def get_staff(user_id):
    return staff_answer(own(User, user_id))


@bp.patch("/staff/<int:user_id>")
@require_auth(roles=ADMIN)
@transactional
def patch_staff(user_id):
    user = own(User, user_id)
    changed = people.change_staff(g.user, user, StaffIn().load(json_body()))
    db.session.flush()
    return staff_answer(user, changed=changed)


@bp.post("/staff/<int:user_id>/enrolment-code")
@require_auth(roles=ADMIN)
@transactional
def set_enrolment_code(user_id):
    """A one-time code for the person's next login (shown in this answer only); `reset_password` voids the old
    password too. Neither the code nor a password is ever in the audit trail or a log."""
    user = own(User, user_id)
    data = EnrolmentIn().load(json_body(optional=True))
    if not user.active:
        raise ApiError(409, "inactive", "Aktivera kontot innan du skapar en engångskod.",
                       {"_schema": ["Kontot är inaktiverat."]})
    code, expires = enrolment.issue(g.user, user, data["reset_password"])
    db.session.flush()
    return staff_answer(user, code=code, expires_at=expires.isoformat()), 201


# -------------------------------------------------------------------------------------------------- visits

@bp.get("/visits")
@require_auth(roles=ADMIN)
@transactional
def find_visits():
    args = VisitQuery().load(request.args)
    found, more = visits.day_list(g.user.unit_id, args["day"], args["q"], args["limit"])
    if found:
        log_reads(g.user, sorted({v.client_id for v in found}), "manage_visits", device_id=g.device.id)
    return {"visits": [visits.visit_out(v) for v in found], "more": more}


def visit_answer(visit, changed=None):
    log_access(g.user, visit.client_id, "manage_visit", detail=f"visit:{visit.id}")
    answer = {"visit": visits.visit_out(visit),
              "staff_choices": [{"id": w.id, "display_name": w.display_name, "username": w.username}
                                for w in visits.staff_choices(visit.unit_id)],
              "audit": audit.trail(g.user.unit_id, ("visit",), visit.id)}
    return answer if changed is None else {**answer, "changed": changed}


@bp.get("/visits/<int:visit_id>")
@require_auth(roles=ADMIN)
@transactional
def get_visit(visit_id):
    return visit_answer(own(Visit, visit_id))


@bp.patch("/visits/<int:visit_id>")
@require_auth(roles=ADMIN)
@transactional
def patch_visit(visit_id):
    """Move, re-staff, cancel or restore; phones holding the visit get it at their next pull."""
    visit = own(Visit, visit_id)
    changed = visits.change(g.user, visit, VisitIn().load(json_body()))
    db.session.flush()
    return visit_answer(visit, changed)
