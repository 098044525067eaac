"""Managing by hand (issue 29): an administrator finds and changes the own unit's clients, staff and visits,
sets a one-time enrolment code, and sees each object's audit trail (who, what, when, before and after).
docs/manage.md.

Modules: `views` (HTTP), `people` (clients, staff, devices), `visits` (a day's list; move, re-staff, cancel),
`enrolment` (one-time codes, also redeemed by server.auth at login), `audit` (the trail's rows), `schemas`.
"""


def init_app(app):
    from . import views
    app.register_blueprint(views.bp)
    register_openapi()


def register_openapi():
    """Describe the routes in the OpenAPI document (query parameters and bodies straight from the schemas)."""
    from .. import openapi
    from .schemas import ClientIn, EnrolmentIn, SearchQuery, StaffIn, VisitIn, VisitQuery

    openapi.EXTRA_SCHEMAS.update({"ManageClientIn": ClientIn, "ManageStaffIn": StaffIn, "ManageVisitIn": VisitIn,
                                  "EnrolmentCodeIn": EnrolmentIn})

    def op(summary, query=None, body=None, path_id=None, ok="200", errors=(401, 403, 404, 422)):
        return openapi.operation(summary, query, body, path_id, ok=ok, errors=errors,
                                 body_required=body != "EnrolmentCodeIn")

    writes = (400, 401, 403, 404, 409, 422)
    openapi.EXTRA_PATHS.update({
        "/api/admin/clients": {"get": op("The own unit's clients by name, personal number or key reference "
                                         "(each shown is access-logged)", SearchQuery)},
        "/api/admin/clients/{client_id}": {
            "get": op("One client of the own unit with its audit trail", path_id="client_id"),
            "patch": op("Correct a client's fields; phones get the record at their next pull", body="ManageClientIn",
                        path_id="client_id", errors=writes)},
        "/api/admin/staff": {"get": op("The own unit's staff by name, username or external id", SearchQuery)},
        "/api/admin/staff/{user_id}": {
            "get": op("A staff member with devices and audit trail", path_id="user_id"),
            "patch": op("Rename, deactivate or reactivate a staff member", body="ManageStaffIn", path_id="user_id",
                        errors=writes)},
        "/api/admin/staff/{user_id}/enrolment-code": {"post": op(
            "A one-time enrolment code (shown once; reset_password voids the old password)", body="EnrolmentCodeIn",
            path_id="user_id", ok="201", errors=writes)},
        "/api/admin/visits": {"get": op("The own unit's visits of a local day (each client shown is access-logged)",
                                        VisitQuery)},
        "/api/admin/visits/{visit_id}": {
            "get": op("One visit with the workers it may be staffed with and its audit trail", path_id="visit_id"),
            "patch": op("Move, re-staff, cancel or restore a visit (revision as seen); no double booking",
                        body="ManageVisitIn", path_id="visit_id", errors=writes)},
    })
