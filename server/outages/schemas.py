"""marshmallow schemas of the outage area: what the endpoints accept (loaded at the edge) and answer."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from sync import dates, rule_settings, rules
from sync.outages import FAULT_TYPES

from ..schemas import DEVICE_EARLIEST, ID, Day, InterventionOutcomeSchema, Moment, QueryInt, SafeString, StrictSchema

INFORMATION_SOURCES = ("paper_form", "phone_call", "worker_in_person", "other")


class PolicyIn(StrictSchema):
    route = fields.String(required=True, validate=validate.OneOf(rule_settings.POLICY_ROUTES))
    deadline = Moment(allow_none=True)
    note = SafeString(allow_none=True, validate=validate.Length(max=500))


class OutageIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(rules.OUTAGE_KINDS))
    title = SafeString(validate=validate.Length(min=1, max=200))
    description = SafeString(allow_none=True, validate=validate.Length(max=4000))
    started_at = Moment(required=True)
    ended_at = Moment(allow_none=True)
    expected_end = Moment(allow_none=True)
    unit_ids = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(min=1, max=50))
    announced_policy = fields.Nested(PolicyIn, allow_none=True)
    reporter_name = SafeString(allow_none=True, validate=validate.Length(max=120))
    discovered_by_unit_id = fields.Integer(strict=True, allow_none=True, validate=ID)
    fault_type = fields.String(allow_none=True, validate=validate.OneOf(FAULT_TYPES))

    @validates_schema
    def _unplanned_needs_a_report(self, data, **kwargs):
        if data.get("kind") == rules.UNPLANNED and not data.get("reporter_name"):
            raise ValidationError("Ange vem som anmälde driftstoppet.", "reporter_name")


class OutagePatch(StrictSchema):
    title = SafeString(validate=validate.Length(min=1, max=200))
    description = SafeString(allow_none=True, validate=validate.Length(max=4000))
    started_at = Moment()
    ended_at = Moment(allow_none=True)
    expected_end = Moment(allow_none=True)
    unit_ids = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(min=1, max=50))
    announced_policy = fields.Nested(PolicyIn, allow_none=True)
    reporter_name = SafeString(allow_none=True, validate=validate.Length(max=120))
    discovered_by_unit_id = fields.Integer(strict=True, allow_none=True, validate=ID)
    fault_type = fields.String(allow_none=True, validate=validate.OneOf(FAULT_TYPES))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Inget att ändra.", "_schema")


class EndIn(StrictSchema):
    ended_at = Moment(allow_none=True)


class ReasonIn(StrictSchema):
    reason = SafeString(required=True, validate=validate.Length(min=3, max=1000))


class OutageOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    started_at = Moment()
    ended_at = Moment(allow_none=True)
    expected_end = Moment(allow_none=True)
    announced_at = Moment(allow_none=True)
    announced_policy = fields.Dict(allow_none=True)
    decided_policy = fields.Dict(allow_none=True)
    decided_at = Moment(allow_none=True)
    reporter_name = fields.String(allow_none=True)
    discovered_by_unit_id = fields.Integer(allow_none=True)
    fault_type = fields.String(allow_none=True)
    evidence = fields.Dict(allow_none=True)
    dismissed_reason = fields.String(allow_none=True)
    withdrawn_at = Moment(allow_none=True)
    withdrawn_by = fields.Integer(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)
    unit_ids = fields.Method("_unit_ids")
    ongoing = fields.Boolean()
    elapsed_minutes = fields.Integer()
    threshold_minutes = fields.Integer()
    long = fields.Boolean()
    needs_decision = fields.Boolean()
    short_notice = fields.Boolean(allow_none=True)
    gap_counts = fields.Dict()

    def _unit_ids(self, outage):
        return [u.id for u in outage.units]


class VisitBrief(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    client_name = fields.Function(lambda v: v.client.name)
    planned_start = Moment()
    planned_end = Moment()
    interventions = fields.Function(lambda v: [{"id": i.id, "code": i.code, "title": i.title,
                                                "planned_minutes": i.planned_minutes} for i in v.interventions])


class GapOut(Schema):
    id = fields.Integer()
    outage_id = fields.Integer()
    visit = fields.Nested(VisitBrief)
    worker = fields.Function(lambda g: {"id": g.worker.id, "display_name": g.worker.display_name})
    state = fields.String()
    route = fields.String(allow_none=True)
    deadline = Moment(allow_none=True)
    deadline_day = fields.Method("_deadline_day")
    rule = fields.String()
    explanation = fields.String()
    explanation_en = fields.String()
    inputs = fields.Dict()
    decided_at = Moment()
    overdue = fields.Method("_overdue")

    def _deadline_day(self, gap):
        tz = self.context_tz
        return dates.last_day(gap.deadline, tz).isoformat() if gap.deadline else None

    def _overdue(self, gap):
        return bool(gap.deadline and gap.state == rules.STATE_OPEN and gap.deadline <= self.now)

    def __init__(self, *args, tz=None, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.context_tz, self.now = tz, now


class DecisionOut(Schema):
    id = fields.Integer()
    state = fields.String()
    route = fields.String(allow_none=True)
    deadline = Moment(allow_none=True)
    rule = fields.String()
    explanation = fields.String()
    inputs = fields.Dict()
    trigger = fields.String()
    decided_at = Moment()


class InterventionIn(InterventionOutcomeSchema):
    """One intervention of a backfill: the same fields and rule as a device's `intervention_recorded`."""


class BackfillIn(StrictSchema):
    visit_id = fields.Integer(required=True, strict=True, validate=ID)
    worker_id = fields.Integer(required=True, strict=True, validate=ID)
    started_at = Moment(allow_none=True)
    ended_at = Moment(allow_none=True)
    interventions = fields.List(fields.Nested(InterventionIn), validate=validate.Length(max=30))
    information_source = fields.String(required=True, validate=validate.OneOf(INFORMATION_SOURCES))
    note = SafeString(allow_none=True, validate=validate.Length(max=2000))
    outage_id = fields.Integer(strict=True, allow_none=True, validate=ID)
    request_id = fields.UUID()  # makes a resubmitted form a no-op


class ResolveIn(StrictSchema):
    visit_id = fields.Integer(required=True, strict=True, validate=ID)
    worker_id = fields.Integer(required=True, strict=True, validate=ID)
    effective = fields.String(required=True, validate=validate.OneOf(("device", "backfill")))
    note = SafeString(required=True, validate=validate.Length(min=3, max=1000))


class ReapplyIn(StrictSchema):
    occurred_at = Moment(earliest=DEVICE_EARLIEST)  # as a phone's record may say (its clock reset to 1970)
    payload = fields.Dict()
    note = SafeString(required=True, validate=validate.Length(min=3, max=1000))


class QuarantineOut(Schema):
    id = fields.String()
    device_id = fields.String(allow_none=True)
    user_id = fields.Integer()
    type = fields.String()
    raw = fields.Dict()
    code = fields.String()
    message = fields.String()
    received_at = Moment()
    state = fields.String()
    resolved_by = fields.Integer(allow_none=True)
    resolved_at = Moment(allow_none=True)
    resolution_note = fields.String(allow_none=True)


class AbsenceIn(StrictSchema):
    worker_id = fields.Integer(required=True, strict=True, validate=ID)
    from_ = Day(required=True, data_key="from")
    to = Day()
    reason = SafeString(allow_none=True, validate=validate.Length(max=200))


class AbsenceOut(Schema):
    id = fields.Integer()
    worker_id = fields.Integer()
    day = fields.Date()
    reason = fields.String(allow_none=True)
    marked_by = fields.Integer()
    marked_at = Moment()


class LockDateIn(StrictSchema):
    lock_date = Day(required=True, allow_none=True)


class UnitRulesIn(StrictSchema):
    threshold_minutes = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=7 * 24 * 60))
    self_deadline_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=60))
    admin_grace_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=60))
    long_outage_policy = fields.Nested(PolicyIn, allow_none=True)


# -- query strings: unknown parameters are ignored (a cache buster is not an error); known ones are bounded

class Query(Schema):
    class Meta:
        unknown = EXCLUDE


class OutagesQuery(Query):
    status = fields.String(validate=validate.OneOf(("proposed", "confirmed", "dismissed", "withdrawn")))
    needs_decision = fields.Boolean()


class GapsQuery(Query):
    route = fields.String(validate=validate.OneOf(rules.ROUTES))
    state = fields.String(validate=validate.OneOf((rules.STATE_OPEN, rules.STATE_CLOSED)))


class QueueQuery(Query):
    route = fields.String(validate=validate.OneOf(rules.ROUTES + ("all",)))
    outage_id = QueryInt()
    worker_id = QueryInt()
    overdue = fields.Boolean()


class ConflictsQuery(Query):
    state = fields.String(validate=validate.OneOf(("open", "resolved", "all")))


class QuarantineQuery(Query):
    state = fields.String(validate=validate.OneOf(("open", "reapplied", "dismissed", "all")))
    code = SafeString(validate=validate.Length(min=1, max=32))  # the column's width


class AbsencesQuery(Query):
    from_ = Day(data_key="from")
    to = Day()
