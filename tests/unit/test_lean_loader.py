"""The lean loader (server.schemas.LeanLoader) may only ever say what marshmallow's load() says: for any
input it either gives up (None) or returns exactly load()'s result — and for ordinary valid events it does
not give up (else the fast path would be dead code). Checked on generated inputs, valid and broken."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from marshmallow import ValidationError

from server.schemas import (EventSchema, LeanLoader, Plausibility, PushRequestSchema, SealedEventSchema,
                            StatusSchema)
from sync import events as ev

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
PLAUSIBLE = Plausibility(NOW, 120, 48)


def _schema():
    return EventSchema(plausibility=PLAUSIBLE)


def _full(schema, data):
    try:
        return schema.load(data)
    except ValidationError:
        return None


def _agree(schema, data):
    lean, full = LeanLoader(schema)(data), _full(schema, data)
    assert lean is None or lean == full, (data, lean, full)
    return lean, full


weird = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(allow_nan=False),
                  st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                  st.sampled_from(["1", "0", "true", "", "\x00", "\ud800", "x" * 5000, "2026-11-24T10:00:00",
                                   "2026-11-24 10:00:00+01:00", "2026-11-24T10:00:00Z", "20261124T100000Z",
                                   str(uuid.uuid4()).upper(), uuid.uuid4().hex, f"urn:uuid:{uuid.uuid4()}",
                                   "done", "not_done", "declined", "overview", "fall"]))


def _when(draw):
    moment = NOW + timedelta(minutes=draw(st.integers(-200 * 24 * 60, 72 * 60)))
    offset = timezone(timedelta(minutes=draw(st.sampled_from([0, 60, 120, -300]))))
    return moment.astimezone(offset).isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds", "microseconds"])))


@st.composite
def payloads(draw, kind):
    ident = st.integers(1, 40)
    if kind in (ev.VISIT_STARTED, ev.VISIT_ENDED):
        p = {"visit_id": draw(ident)}
        if draw(st.booleans()):
            p["at"] = _when(draw)
        if draw(st.booleans()):
            p["adjust_reason"] = draw(st.text(max_size=20))
        if draw(st.booleans()):
            p["post_registration"] = draw(st.booleans())
    elif kind == ev.INTERVENTION_RECORDED:
        p = {"visit_id": draw(ident), "intervention_id": draw(ident), "status": draw(st.sampled_from(["done", "not_done"]))}
        if draw(st.booleans()):
            p["reason"] = draw(st.sampled_from(ev.NOT_DONE_REASONS))
        if draw(st.booleans()):
            p["comment"] = draw(st.text(max_size=20))
    elif kind == ev.NOTE_ADDED:
        p = {"client_id": draw(ident), "text": draw(st.text(max_size=30))}
        if draw(st.booleans()):
            p["visit_id"] = draw(ident)
    elif kind == ev.DEVIATION_REPORTED:
        p = {"category": draw(st.sampled_from(ev.DEVIATION_CATEGORIES)), "description": draw(st.text(max_size=30))}
        if draw(st.booleans()):
            p["client_id"] = draw(ident)
    elif kind == ev.CLIENT_RECORD_OPENED:
        p = {"client_id": draw(ident), "view": draw(st.sampled_from(ev.RECORD_VIEWS))}
    else:
        p = {"visit_id": draw(ident)}
        if draw(st.booleans()):
            p["reason"] = draw(st.text(max_size=20))
    return p


@st.composite
def events(draw, broken=True):
    kind = draw(st.sampled_from(ev.EVENT_TYPES))
    e = {"id": str(uuid.uuid4()), "type": kind, "occurred_at": _when(draw), "device_seq": draw(st.integers(0, 10**6)),
         "payload": draw(payloads(kind))}
    if broken:  # a few mutations anywhere: a value replaced by something odd, a key dropped or added
        for _ in range(draw(st.integers(0, 3))):
            payload = e.get("payload")
            target = payload if isinstance(payload, dict) and draw(st.booleans()) else e
            action = draw(st.sampled_from(["replace", "drop", "add"]))
            keys = sorted(target)
            if action == "replace" and keys:
                target[draw(st.sampled_from(keys))] = draw(weird)
            elif action == "drop" and keys:
                target.pop(draw(st.sampled_from(keys)))
            else:
                target[draw(st.sampled_from(["extra", "visit_id", "at", "reason", "text", "status", "id"]))] = draw(weird)
    return e


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_lean_and_full_load_agree_on_any_event(e):
    _agree(_schema(), e)


@settings(max_examples=400, deadline=None)
@given(events(broken=False))
def test_ordinary_events_take_the_lean_path(e):
    lean, full = _agree(_schema(), e)
    assert (full is None) == (lean is None)  # valid → lean too; invalid (e.g. implausible, no reason) → both refuse


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"id": st.one_of(st.just(str(uuid.uuid4())), weird),
                              "sealed": st.one_of(st.text(min_size=30, max_size=200), weird)},
                             optional={"k": st.one_of(st.sampled_from(["a", "0", "-_", "a" * 17, ""]), weird),
                                       "extra": weird}))
def test_lean_and_full_load_agree_on_sealed_items(item):
    _agree(SealedEventSchema(), item)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"protocol": st.one_of(st.just(1), weird), "device_id": st.one_of(st.just("device-0001"), weird),
                              "events": st.one_of(st.lists(st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), max_size=3), weird),
                              "status": st.one_of(
                                  st.just({"pending": 1, "device_clock": NOW.isoformat(), "app_version": "1"}),
                                  # the nested schema takes its own lean load: broken inside, not only as a whole
                                  st.fixed_dictionaries({"pending": st.one_of(st.integers(-2, 3), weird),
                                                         "device_clock": st.one_of(st.just(NOW.isoformat()), weird),
                                                         "app_version": st.one_of(st.just("1"), weird)},
                                                        optional={"failed_syncs": st.one_of(st.integers(-1, 3), weird),
                                                                  "extra": weird}),
                                  weird)},
                             optional={"keys": st.one_of(st.dictionaries(st.sampled_from(["a", "b", "!"]), st.text(min_size=38, max_size=101), max_size=2), weird),
                                       "extra": weird}))
def test_lean_and_full_load_agree_on_push_requests(body):
    _agree(PushRequestSchema(), body)


# Times and UUIDs take a parser of their own in the lean loader (what the field would call): any string,
# ISO or not, aware or naive, must come out exactly as the field says.
_offsets = st.sampled_from([timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
aware_like = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), _offsets)).map(lambda d: d.isoformat()),
    st.datetimes(timezones=_offsets).map(lambda d: d.isoformat(sep=" ", timespec="minutes")),
    st.from_regex(r"\A\d{4}-?\d\d-?\d\d([T ]\d\d(:?\d\d(:?\d\d([.,]\d{1,7})?)?)?)?(Z|[+-]\d\d(:?\d\d)?)?\Z"),
    weird)
uuid_like = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: u.hex.upper()), st.uuids().map(lambda u: f"{{{u}}}"),
                      st.uuids().map(lambda u: f"urn:uuid:{u}"), st.text(alphabet="0123456789abcdefABCDEF-{}urn:", max_size=45),
                      weird)


@settings(max_examples=600, deadline=None)
@given(st.fixed_dictionaries({"pending": st.just(1), "device_clock": aware_like, "app_version": st.just("1")},
                             optional={"oldest_pending_at": st.one_of(st.none(), aware_like)}))
def test_lean_and_full_load_agree_on_times(status):
    _agree(StatusSchema(), status)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({"id": uuid_like, "sealed": st.just("x" * 40)}))
def test_lean_and_full_load_agree_on_uuids(item):
    _agree(SealedEventSchema(), item)


def test_schemas_with_load_hooks_or_renamed_fields_are_refused():
    from marshmallow import Schema, fields, post_load

    class Renamed(Schema):
        a = fields.Integer(data_key="b")

    class Hooked(Schema):
        a = fields.Integer()

        @post_load
        def make(self, data, **kwargs):
            return data

    class Lenient(Schema):
        a = fields.Integer()

    for schema in (Renamed(unknown="raise"), Hooked(unknown="raise"), Lenient(unknown="exclude")):
        with pytest.raises(TypeError):
            LeanLoader(schema)
    assert LeanLoader(StatusSchema())  # a strict schema without hooks is fine
