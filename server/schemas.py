"""marshmallow schemas: the boundary of the API (input is loaded here) and the source of the OpenAPI document."""
from datetime import datetime, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from sync import events as ev
from sync.protocol import PROTOCOL_VERSION

DEVICE_ID = validate.Regexp(r"^[A-Za-z0-9_-]{8,64}$", error="8–64 tecken: bokstäver, siffror, - och _.")
KEY_REF = validate.Regexp(r"^[A-Za-z0-9_-]{1,16}$", error="1–16 tecken: bokstäver, siffror, - och _.")
ID = validate.Range(min=1, max=2**31 - 1)


class SafeString(fields.String):
    """Text that every database can store: valid UTF-8 (no lone surrogates) and no NUL characters."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Tecknet NUL är inte tillåtet.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Ogiltig Unicode-text.")
        return text


# Every moment and day the server stores lies in this range: a value outside it is refused at the edge with a
# 4xx naming the field (year 1 or 9999 with a ±14:00 offset broke later arithmetic and managers' pages).
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


# A phone's own clock may have been reset (to 1970, where phones start counting): what it reports in its clock's
# time is taken from then on and corrected by its skew (server.ingest).
DEVICE_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Moment(fields.AwareDateTime):
    """An ISO 8601 time with an offset, between `earliest` (EARLIEST unless given) and LATEST."""

    def __init__(self, earliest=EARLIEST, **kwargs):
        super().__init__(**kwargs)
        self.earliest = earliest

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            inside = self.earliest <= moment.astimezone(timezone.utc) < LATEST
        except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
            inside = False
        if not inside:
            raise ValidationError(f"Tidpunkten måste ligga mellan {self.earliest.year} och {LATEST.year - 1}.")
        return moment


class Day(fields.Date):
    """A calendar day (YYYY-MM-DD) between EARLIEST and LATEST."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST.date() <= day < LATEST.date():
            raise ValidationError(f"Datumet måste ligga mellan {EARLIEST.year} och {LATEST.year - 1}.")
        return day


class QueryInt(fields.Integer):
    """An id or count in a query string: ASCII digits only (no '²', no '٣', no sign), within `ID` unless
    `validate` says otherwise — so a value past the column's range is a 422, not a database error."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", ID)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 18:
            raise ValidationError("Ett heltal med siffrorna 0–9.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# -- event payloads ---------------------------------------------------------------------------------

class VisitTimePayload(StrictSchema):
    visit_id = fields.Integer(required=True, strict=True, validate=ID)
    at = Moment(earliest=DEVICE_EARLIEST)
    adjust_reason = SafeString(validate=validate.Length(min=1, max=500))
    post_registration = fields.Boolean()


class InterventionOutcomeSchema(StrictSchema):
    """Done / not done (with why) for one planned intervention — from a device or an administrator."""

    intervention_id = fields.Integer(required=True, strict=True, validate=ID)
    status = fields.String(required=True, validate=validate.OneOf(("done", "not_done")))
    reason = fields.String(validate=validate.OneOf(ev.NOT_DONE_REASONS))
    comment = SafeString(validate=validate.Length(max=2000))

    @validates_schema
    def _reason_when_not_done(self, data, **kwargs):
        if data.get("status") == "not_done" and not data.get("reason"):
            raise ValidationError("Ange varför insatsen inte blev utförd.", "reason")


class InterventionPayload(InterventionOutcomeSchema):
    visit_id = fields.Integer(required=True, strict=True, validate=ID)
    post_registration = fields.Boolean()


class NotePayload(StrictSchema):
    client_id = fields.Integer(required=True, strict=True, validate=ID)
    visit_id = fields.Integer(strict=True, validate=ID)
    text = SafeString(required=True, validate=validate.Length(min=1, max=4000))
    handover = fields.Boolean(truthy={True}, falsy={False})  # "Till nästa besök": shown to the next visits' workers until read


class HandoverAcknowledgedPayload(StrictSchema):
    """The worker read ("Läst") a handover note; client_id says whose note it is, and is the log row's client."""

    note_id = fields.UUID(required=True)
    client_id = fields.Integer(required=True, strict=True, validate=ID)


class DeviationPayload(StrictSchema):
    category = fields.String(required=True, validate=validate.OneOf(ev.DEVIATION_CATEGORIES))
    description = SafeString(required=True, validate=validate.Length(min=1, max=4000))
    client_id = fields.Integer(strict=True, validate=ID)
    visit_id = fields.Integer(strict=True, validate=ID)


class RecordOpenedPayload(StrictSchema):
    client_id = fields.Integer(required=True, strict=True, validate=ID)
    view = fields.String(required=True, validate=validate.OneOf(ev.RECORD_VIEWS))


class GapHandedOverPayload(StrictSchema):
    visit_id = fields.Integer(required=True, strict=True, validate=ID)
    reason = SafeString(validate=validate.Length(max=500))


PAYLOADS = {
    ev.VISIT_STARTED: VisitTimePayload, ev.VISIT_ENDED: VisitTimePayload,
    ev.INTERVENTION_RECORDED: InterventionPayload, ev.NOTE_ADDED: NotePayload,
    ev.DEVIATION_REPORTED: DeviationPayload, ev.CLIENT_RECORD_OPENED: RecordOpenedPayload,
    ev.GAP_HANDED_OVER: GapHandedOverPayload, ev.HANDOVER_ACKNOWLEDGED: HandoverAcknowledgedPayload,
}
_PAYLOAD_SCHEMAS = {name: schema() for name, schema in PAYLOADS.items()}  # stateless: one each


class EventSchema(StrictSchema):
    """Protocol v1 event envelope; the payload is checked by the schema its type names."""

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf(ev.EVENT_TYPES))
    occurred_at = Moment(earliest=DEVICE_EARLIEST, required=True)
    device_seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**53))
    payload = fields.Dict(required=True)

    @validates_schema
    def _payload_fits_type(self, data, **kwargs):
        schema = _PAYLOAD_SCHEMAS.get(data.get("type"))
        if schema is None or "payload" not in data:
            return
        try:
            data["payload"] = schema.load(data["payload"])
        except ValidationError as err:
            raise ValidationError({"payload": err.messages})
        at, occurred = data["payload"].get("at"), data.get("occurred_at")
        if at is not None and occurred is not None and abs(at - occurred) > ev.ADJUSTMENT_TOLERANCE \
                and not data["payload"].get("adjust_reason"):
            raise ValidationError({"payload": {"adjust_reason": ["En ändrad tid behöver en orsak."]}})


class SealedEventSchema(StrictSchema):
    """An event sealed to the server's outbox key (docs/protocol.md): v1 alone, v2 naming its session key."""

    id = fields.UUID(required=True)
    k = fields.String(validate=KEY_REF)  # v2: which of the request's `keys` sealed it
    sealed = fields.String(required=True, validate=validate.Length(min=40, max=64_000))


class StatusSchema(StrictSchema):
    """What the device reports of itself with every push; managers see the last one."""

    pending = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**7))
    oldest_pending_at = Moment(earliest=DEVICE_EARLIEST, allow_none=True)
    device_clock = Moment(earliest=DEVICE_EARLIEST, required=True)  # beyond: an absurd clock, a 422
    app_version = SafeString(required=True, validate=validate.Length(min=1, max=32))
    copy_as_of = Moment(earliest=DEVICE_EARLIEST, allow_none=True)
    failed_syncs = fields.Integer(strict=True, validate=validate.Range(min=0, max=10**7))
    last_failed_sync_at = Moment(earliest=DEVICE_EARLIEST, allow_none=True)


class PushRequestSchema(StrictSchema):
    protocol = fields.Integer(required=True, strict=True,
                              validate=validate.Equal(PROTOCOL_VERSION, error="Protokollversion 1 krävs."))
    device_id = fields.String(required=True, validate=DEVICE_ID)
    # Each item is an Event or a SealedEvent; the push service loads them one by one (it unseals first).
    events = fields.List(fields.Dict(), required=True)
    # v2 sealing: the ephemeral public keys (base64url X9.62 points) of the sessions that sealed the events
    keys = fields.Dict(keys=fields.String(validate=KEY_REF), values=fields.String(validate=validate.Length(min=40, max=100)),
                       validate=validate.Length(max=64))
    status = fields.Nested(StatusSchema, required=True)


class PushResultSchema(Schema):
    id = fields.String()
    status = fields.String(validate=validate.OneOf(("applied", "duplicate", "rejected")))
    code = fields.String()
    message = fields.String()


class PushResponseSchema(Schema):
    server_time = fields.AwareDateTime()
    skew_seconds = fields.Float()
    results = fields.List(fields.Nested(PushResultSchema))
    wipe = fields.Boolean()


class TokenRequestSchema(StrictSchema):
    username = SafeString(required=True, validate=validate.Length(min=1, max=64))
    password = SafeString(required=True, validate=validate.Length(min=1, max=256))
    device_id = fields.String(required=True, validate=DEVICE_ID)
    device_name = SafeString(validate=validate.Length(max=120))


class DeviceNameSchema(StrictSchema):
    """A phone's name as people tell it apart ("Annas Pixel", "Bilens telefon")."""
    name = SafeString(required=True, validate=validate.Length(min=1, max=120))


class UnitOut(Schema):
    id = fields.Integer()
    name = fields.String()


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    unit = fields.Nested(UnitOut)


class OutboxKeySchema(Schema):
    kid = fields.String()
    jwk = fields.Dict()


class TokenResponseSchema(Schema):
    token = fields.String()
    push_token = fields.String()
    expires_at = fields.AwareDateTime()
    user = fields.Nested(UserOut)
    device_id = fields.String()
    outbox_key = fields.Nested(OutboxKeySchema)
    server_time = fields.AwareDateTime()
    settings = fields.Dict()


# -- the shift package ------------------------------------------------------------------------------

class InterventionOut(Schema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    planned_minutes = fields.Integer()
    description = fields.String(allow_none=True)


class WorkerOut(Schema):
    id = fields.Integer()
    display_name = fields.String()


class VisitOut(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    planned_start = fields.AwareDateTime()
    planned_end = fields.AwareDateTime()
    instructions = fields.String(allow_none=True)
    cancelled = fields.Boolean()  # "inställd": kept in the package so the phone can say so
    revision = fields.Integer()  # > 0: moved, re-staffed or cancelled since planned ("ändrad")
    interventions = fields.List(fields.Nested(InterventionOut(only=("id", "code", "title", "planned_minutes"))))
    workers = fields.List(fields.Nested(WorkerOut))


class KeyOut(Schema):
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class ClientOut(Schema):
    id = fields.Integer()
    name = fields.String()
    personal_number = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)
    key = fields.Nested(KeyOut)
    person_card = fields.Dict()
    care_plan = fields.Dict()
    medication_list = fields.List(fields.Dict(), allow_none=True)
    updated_at = fields.AwareDateTime()


class WindowOut(Schema):
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()


class InterventionOutcomeOut(Schema):
    intervention_id = fields.Integer()
    status = fields.String()
    reason = fields.String(allow_none=True)


class OwnRegistrationOut(Schema):
    visit_id = fields.Integer()
    started_at = fields.AwareDateTime(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    interventions = fields.List(fields.Nested(InterventionOutcomeOut))


class HandoverOut(Schema):
    """An open handover note (Till nästa besök) for a client of the package, written by someone else."""

    id = fields.String()  # the note's event id: what handover_acknowledged names
    client_id = fields.Integer()
    text = fields.String()
    author = fields.String()
    written_at = fields.AwareDateTime()  # the phone's time, corrected by its clock skew
    visit_id = fields.Integer(allow_none=True)  # the visit it was written at
    visit_start = fields.AwareDateTime(allow_none=True)
    for_visits = fields.List(fields.Integer())  # the worker's visits of the client it is for


class PullResponseSchema(Schema):
    as_of = fields.AwareDateTime()
    cursor = fields.String()
    full = fields.Boolean()
    window = fields.Nested(WindowOut)
    visit_ids = fields.List(fields.Integer())
    registrations = fields.List(fields.Nested(OwnRegistrationOut))  # always complete, like visit_ids
    visits = fields.List(fields.Nested(VisitOut))
    clients = fields.List(fields.Nested(ClientOut))
    handovers = fields.List(fields.Nested(HandoverOut))  # always complete: a note read by anyone drops out


class PullQuerySchema(StrictSchema):
    cursor = SafeString(validate=validate.Length(max=500))


class ErrorSchema(Schema):
    code = fields.String()
    status = fields.Integer()
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
