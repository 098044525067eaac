"""Input of this area's routes: query strings and bodies, bounded at the edge (server.schemas' field types)."""
from marshmallow import EXCLUDE, ValidationError, fields, validate, validates_schema

from sync import events as ev

from ..schemas import Day, QueryInt, SafeString, StrictSchema
from .models import DEVIATION_STATES

FLAG = validate.OneOf(("0", "1"), error="Ange 1 eller 0.")


class PeriodQuery(StrictSchema):
    """Inclusive local calendar days; both default to a window ending today (see api._period)."""

    class Meta:
        unknown = EXCLUDE  # a cache-buster or a UI's own parameter is not an error

    date_from = Day(data_key="from", load_default=None)
    date_to = Day(data_key="to", load_default=None)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("Startdatum måste vara före slutdatum.", "from")


class DeviationQuery(PeriodQuery):
    status = fields.String(validate=validate.OneOf(DEVIATION_STATES), load_default=None)
    category = fields.String(validate=validate.OneOf(ev.DEVIATION_CATEGORIES), load_default=None)
    client_id = QueryInt(load_default=None)
    offline = fields.String(validate=FLAG, load_default=None)


class StatusIn(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(DEVIATION_STATES[1:]))
    comment = SafeString(validate=validate.Length(max=2000), load_default=None)


class MissedQuery(PeriodQuery):
    medication = fields.String(validate=FLAG, load_default=None)
    client_id = QueryInt(load_default=None)


class TransferMarkIn(StrictSchema):
    item_keys = fields.List(fields.String(validate=validate.Length(min=1, max=120)), required=True,
                            validate=validate.Length(min=1, max=5000))


class PeriodIn(StrictSchema):
    date_from = Day(data_key="from", required=True)
    date_to = Day(data_key="to", required=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("Startdatum måste vara före slutdatum.", "from")


class ApprovalIn(PeriodIn):
    comment = SafeString(validate=validate.Length(max=2000), load_default=None)


class ExportQuery(StrictSchema):
    class Meta:
        unknown = EXCLUDE

    rows = fields.String(validate=validate.OneOf(("visits", "interventions")), load_default="visits")
