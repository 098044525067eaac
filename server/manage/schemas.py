"""Input of the managing-by-hand routes, bounded at the edge (server.schemas' field types): searches, and the
fields an administrator may change of a client, a staff member and a visit."""
from datetime import timedelta

from marshmallow import EXCLUDE, ValidationError, fields, validate, validates, validates_schema

from ..importer.fields import FieldError, personal_number
from ..schemas import ID, Day, Moment, QueryInt, SafeString, StrictSchema

LONGEST_VISIT = timedelta(hours=24)
MAX_STAFF = 10


class SearchQuery(StrictSchema):
    class Meta:
        unknown = EXCLUDE  # a cache-buster or a UI's own parameter is not an error

    q = SafeString(validate=validate.Length(max=120), load_default="")
    limit = QueryInt(validate=validate.Range(min=1, max=200), load_default=50)


class VisitQuery(SearchQuery):
    day = Day(required=True)  # a local (Europe/Stockholm) calendar day
    limit = QueryInt(validate=validate.Range(min=1, max=1000), load_default=500)


def _optional_text(max_len):
    return SafeString(validate=validate.Length(max=max_len), allow_none=True)


class ClientIn(StrictSchema):
    """The fields the import sets that an administrator may correct; an empty optional field is cleared."""

    name = SafeString(validate=validate.Length(min=1, max=120))
    personal_number = SafeString(validate=validate.Length(min=1, max=20))
    address = SafeString(validate=validate.Length(min=1, max=200))
    phone = _optional_text(32)
    key_ref = _optional_text(32)
    key_note = _optional_text(200)
    notes = _optional_text(2000)
    care_plan_summary = _optional_text(4000)

    @validates("personal_number")
    def _checked(self, value, **kwargs):
        try:
            personal_number(value)
        except FieldError as err:
            raise ValidationError(str(err))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Ange minst ett fält att ändra.", "_schema")


class StaffIn(StrictSchema):
    display_name = SafeString(validate=validate.Length(min=1, max=120))
    active = fields.Boolean(truthy={True}, falsy={False})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Ange minst ett fält att ändra.", "_schema")


class EnrolmentIn(StrictSchema):
    reset_password = fields.Boolean(truthy={True}, falsy={False}, load_default=False)


class VisitIn(StrictSchema):
    """A visit moved, re-staffed, cancelled or restored. `revision` is the one the administrator saw: a visit
    changed meanwhile (by an import or another administrator) is a 409, not overwritten."""

    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**31 - 1))
    start = Moment()
    end = Moment()
    staff = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(min=1, max=MAX_STAFF))
    cancelled = fields.Boolean(truthy={True}, falsy={False})

    @validates("staff")
    def _distinct(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("Samma person står två gånger.")

    @validates_schema
    def _something(self, data, **kwargs):
        if not set(data) - {"revision"}:
            raise ValidationError("Ange minst ett fält att ändra.", "_schema")
