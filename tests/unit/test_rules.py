"""The post-registration rule (DOMAIN.md rules 1–7), table-driven: facts in, route / deadline / rule out."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sync import dates
from sync import rule_settings as rs
from sync import rules as r
from sync.errors import InvalidInput

STHLM = ZoneInfo("Europe/Stockholm")
SETTINGS = rs.RuleSettings()


def local(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=STHLM)


def utc(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=timezone.utc)


def outage(start, end=None, kind=r.UNPLANNED, announced=None, decided=None):
    return r.OutageFacts(id=1, kind=kind, started_at=start, ended_at=end, announced_policy=announced,
                         decided_policy=decided)


def gap(start, unit_id=1, **facts):
    return r.GapFacts(visit_id=7, worker_id=3, unit_id=unit_id, planned_start=start,
                      planned_end=start + timedelta(minutes=30), **facts)


FEB = local(2026, 2, 10, 6, 0)  # an ordinary Tuesday, no DST nearby
END_OF_WED_FEB_11 = utc(2026, 2, 11, 23, 0)  # midnight after Wednesday 11 February, CET (+1)
END_OF_FRI_FEB_13 = utc(2026, 2, 13, 23, 0)

# (name, outage, gap, now, expected route, expected deadline, expected rule)
TABLE = [
    ("9 h 59 min is short: the worker registers by the end of the next day",
     outage(FEB, FEB + timedelta(hours=9, minutes=59)), gap(FEB + timedelta(hours=1)),
     local(2026, 2, 10, 17), r.ROUTE_SELF, END_OF_WED_FEB_11, r.RULE_SHORT_SELF),
    ("exactly 10 h is still short (the threshold is inclusive)",
     outage(FEB, FEB + timedelta(hours=10)), gap(FEB + timedelta(hours=1)),
     local(2026, 2, 10, 17), r.ROUTE_SELF, END_OF_WED_FEB_11, r.RULE_SHORT_SELF),
    ("10 h 1 min is long: management decides",
     outage(FEB, FEB + timedelta(hours=10, minutes=1)), gap(FEB + timedelta(hours=1)),
     local(2026, 2, 10, 17), r.ROUTE_DECISION, None, r.RULE_LONG_DECISION),
    ("spring DST night: 22:00–08:00 on the clock is 9 h elapsed, short",
     outage(local(2026, 3, 28, 22), local(2026, 3, 29, 8)), gap(local(2026, 3, 28, 23)),
     local(2026, 3, 29, 9), r.ROUTE_SELF, utc(2026, 3, 30, 22), r.RULE_SHORT_SELF),
    ("spring DST night: 22:00–09:00 on the clock is exactly 10 h elapsed, short",
     outage(local(2026, 3, 28, 22), local(2026, 3, 29, 9)), gap(local(2026, 3, 28, 23)),
     local(2026, 3, 29, 9), r.ROUTE_SELF, utc(2026, 3, 30, 22), r.RULE_SHORT_SELF),
    ("autumn DST night: 22:00–08:00 on the clock is 11 h elapsed, long",
     outage(local(2026, 10, 24, 22), local(2026, 10, 25, 8)), gap(local(2026, 10, 24, 23)),
     local(2026, 10, 25, 9), r.ROUTE_DECISION, None, r.RULE_LONG_DECISION),
    ("autumn DST night: 22:00–07:00 on the clock is exactly 10 h elapsed, short; deadline in CET",
     outage(local(2026, 10, 24, 22), local(2026, 10, 25, 7)), gap(local(2026, 10, 24, 23)),
     local(2026, 10, 25, 9), r.ROUTE_SELF, utc(2026, 10, 26, 23), r.RULE_SHORT_SELF),
    ("ongoing outage under the threshold: self, the deadline is set when it ends",
     outage(FEB), gap(FEB + timedelta(hours=1)),
     FEB + timedelta(hours=9), r.ROUTE_SELF, None, r.RULE_SHORT_ONGOING),
    ("ongoing outage at exactly the threshold is still short",
     outage(FEB), gap(FEB + timedelta(hours=1)),
     FEB + timedelta(hours=10), r.ROUTE_SELF, None, r.RULE_SHORT_ONGOING),
    ("ongoing outage that crossed the threshold waits for management",
     outage(FEB), gap(FEB + timedelta(hours=1)),
     FEB + timedelta(hours=10, minutes=1), r.ROUTE_DECISION, None, r.RULE_LONG_DECISION),
    ("worker off the next day but working the rest of today: still self",
     outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1), duty_dates=frozenset({date(2026, 2, 10)})),
     local(2026, 2, 10, 11), r.ROUTE_SELF, END_OF_WED_FEB_11, r.RULE_SHORT_SELF),
    ("worker not on duty the rest of the day nor the next: administrator, with the grace days",
     outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1), duty_dates=frozenset()),
     local(2026, 2, 10, 11), r.ROUTE_ADMIN, END_OF_FRI_FEB_13, r.RULE_WORKER_OFF_DUTY),
    ("worker on duty but marked absent both days: administrator",
     outage(FEB, FEB + timedelta(hours=4)),
     gap(FEB + timedelta(hours=1), duty_dates=frozenset({date(2026, 2, 10), date(2026, 2, 11)}),
         absent_dates=frozenset({date(2026, 2, 10), date(2026, 2, 11)})),
     local(2026, 2, 10, 11), r.ROUTE_ADMIN, END_OF_FRI_FEB_13, r.RULE_WORKER_ABSENT),
    ("worker absent today but back tomorrow: still self",
     outage(FEB, FEB + timedelta(hours=4)),
     gap(FEB + timedelta(hours=1), duty_dates=frozenset({date(2026, 2, 10), date(2026, 2, 11)}),
         absent_dates=frozenset({date(2026, 2, 10)})),
     local(2026, 2, 10, 11), r.ROUTE_SELF, END_OF_WED_FEB_11, r.RULE_SHORT_SELF),
    ("worker handed the gap to the administrator",
     outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1), handed_over=True),
     local(2026, 2, 10, 11), r.ROUTE_ADMIN, END_OF_FRI_FEB_13, r.RULE_HANDED_OVER),
    ("one minute before the deadline the worker still has it",
     outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1)),
     local(2026, 2, 11, 23, 59), r.ROUTE_SELF, END_OF_WED_FEB_11, r.RULE_SHORT_SELF),
    ("deadline passed with the gap still open: escalates to the administrator",
     outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1)),
     local(2026, 2, 12, 0, 0), r.ROUTE_ADMIN, END_OF_FRI_FEB_13, r.RULE_DEADLINE_PASSED),
    ("planned outage without an announced policy: staff register afterwards, even when long",
     outage(FEB, FEB + timedelta(hours=12), kind=r.PLANNED), gap(FEB + timedelta(hours=1)),
     local(2026, 2, 10, 19), r.ROUTE_SELF, END_OF_WED_FEB_11, r.RULE_PLANNED_SELF),
    ("planned outage announced as 'the administrators backfill': the announcement wins",
     outage(FEB, FEB + timedelta(hours=3), kind=r.PLANNED, announced=rs.Policy(r.ROUTE_ADMIN)),
     gap(FEB + timedelta(hours=1)),
     local(2026, 2, 10, 19), r.ROUTE_ADMIN, END_OF_FRI_FEB_13, r.RULE_PLANNED_ANNOUNCED),
    ("planned outage announced with its own deadline",
     outage(FEB, FEB + timedelta(hours=3), kind=r.PLANNED,
            announced=rs.Policy(r.ROUTE_SELF, deadline=local(2026, 2, 13, 0, 0))),
     gap(FEB + timedelta(hours=1)),
     local(2026, 2, 10, 19), r.ROUTE_SELF, utc(2026, 2, 12, 23), r.RULE_PLANNED_ANNOUNCED),
    ("long outage decided by management as 'administrators backfill'",
     outage(FEB, FEB + timedelta(hours=14), decided=rs.Policy(r.ROUTE_ADMIN)), gap(FEB + timedelta(hours=1)),
     local(2026, 2, 10, 21), r.ROUTE_ADMIN, END_OF_FRI_FEB_13, r.RULE_MANAGEMENT_POLICY),
    ("long outage decided by management as 'self, by a later deadline'",
     outage(FEB, FEB + timedelta(hours=14), decided=rs.Policy(r.ROUTE_SELF, deadline=utc(2026, 2, 14, 23))),
     gap(FEB + timedelta(hours=1)),
     local(2026, 2, 12, 9), r.ROUTE_SELF, utc(2026, 2, 14, 23), r.RULE_MANAGEMENT_POLICY),
    ("a registered visit is no gap",
     outage(FEB, FEB + timedelta(hours=4)),
     gap(FEB + timedelta(hours=1), registration=r.REGISTRATION_COMPLETE, registered_by="device"),
     local(2026, 2, 10, 11), None, None, r.RULE_REGISTERED),
    ("only a start recorded: still a gap",
     outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1), registration=r.REGISTRATION_PARTIAL),
     local(2026, 2, 10, 11), r.ROUTE_SELF, END_OF_WED_FEB_11, r.RULE_SHORT_SELF),
]


@pytest.mark.parametrize("name,facts,the_gap,now,route,deadline,rule", TABLE, ids=[row[0] for row in TABLE])
def test_rule_table(name, facts, the_gap, now, route, deadline, rule):
    decision = r.decide(facts, the_gap, SETTINGS, now)
    assert (decision.route, decision.deadline, decision.rule) == (route, deadline, rule)
    assert decision.state == (r.STATE_CLOSED if rule == r.RULE_REGISTERED else r.STATE_OPEN)
    assert decision.explanation and decision.explanation_en
    assert decision.inputs["visit_id"] == 7 and decision.inputs["worker_id"] == 3


def test_every_rule_id_fired_by_the_table_is_documented():
    documented = {row["id"] for row in r.RULES}
    fired = {row[6] for row in TABLE}
    assert fired <= documented
    # covered by their own tests
    assert documented - fired == {r.RULE_LONG_STANDING, r.RULE_OUTSIDE_WINDOW, r.RULE_OTHER_OUTAGE, r.RULE_WITHDRAWN}


def test_explanation_is_plain_swedish_with_duration_threshold_and_day():
    d = r.decide(outage(FEB, FEB + timedelta(hours=9, minutes=59)), gap(FEB + timedelta(hours=1)), SETTINGS,
                 local(2026, 2, 10, 17))
    assert "9 timmar 59 minuter" in d.explanation
    assert "10 timmar" in d.explanation
    assert "senast onsdag 11 februari 2026" in d.explanation
    assert d.inputs["elapsed_minutes"] == 599 and d.inputs["threshold_minutes"] == 600


def test_durations_are_elapsed_time_even_when_both_ends_share_a_zoneinfo():
    # Python subtracts same-tzinfo datetimes as wall-clock times; the engine must not.
    spring = r.decide(outage(local(2026, 3, 28, 22), local(2026, 3, 29, 8)), gap(local(2026, 3, 28, 23)),
                      SETTINGS, local(2026, 3, 29, 9))
    autumn = r.decide(outage(local(2026, 10, 24, 22), local(2026, 10, 25, 8)), gap(local(2026, 10, 24, 23)),
                      SETTINGS, local(2026, 10, 25, 9))
    assert spring.inputs["elapsed_minutes"] == 9 * 60
    assert autumn.inputs["elapsed_minutes"] == 11 * 60
    assert "11 timmar" in autumn.explanation


def test_ongoing_outage_crossing_the_threshold_is_a_new_decision_and_the_clock_says_when():
    facts, the_gap = outage(FEB), gap(FEB + timedelta(hours=1))
    before = r.decide(facts, the_gap, SETTINGS, FEB + timedelta(hours=2))
    when = r.next_change_at(facts, before, SETTINGS, unit_id=1)
    assert when is not None and when > (FEB + timedelta(hours=10)).astimezone(timezone.utc)
    assert r.reevaluate(before, facts, the_gap, SETTINGS, FEB + timedelta(hours=10)) is None
    after = r.reevaluate(before, facts, the_gap, SETTINGS, when)
    assert after.route == r.ROUTE_DECISION
    assert r.assess_outage(facts, SETTINGS.for_unit(1), when).needs_decision


def test_outage_ending_sets_the_deadline():
    facts, the_gap = outage(FEB), gap(FEB + timedelta(hours=1))
    ongoing = r.decide(facts, the_gap, SETTINGS, FEB + timedelta(hours=3))
    ended = r.reevaluate(ongoing, outage(FEB, FEB + timedelta(hours=3)), the_gap, SETTINGS, FEB + timedelta(hours=3))
    assert ended.rule == r.RULE_SHORT_SELF and ended.deadline == END_OF_WED_FEB_11


def test_extending_an_outage_past_the_threshold_changes_the_route():
    the_gap = gap(FEB + timedelta(hours=1))
    short = r.decide(outage(FEB, FEB + timedelta(hours=8)), the_gap, SETTINGS, local(2026, 2, 10, 15))
    extended = r.reevaluate(short, outage(FEB, FEB + timedelta(hours=12)), the_gap, SETTINGS, local(2026, 2, 10, 19))
    assert (short.route, extended.route) == (r.ROUTE_SELF, r.ROUTE_DECISION)


def test_a_device_record_syncing_after_routing_closes_the_gap_once():
    facts = outage(FEB, FEB + timedelta(hours=4))
    open_gap = gap(FEB + timedelta(hours=1))
    routed = r.decide(facts, open_gap, SETTINGS, local(2026, 2, 10, 11))
    synced = gap(FEB + timedelta(hours=1), registration=r.REGISTRATION_COMPLETE, registered_by="device")
    closed = r.reevaluate(routed, facts, synced, SETTINGS, local(2026, 2, 10, 12))
    assert routed.route == r.ROUTE_SELF
    assert closed.state == r.STATE_CLOSED and closed.rule == r.RULE_REGISTERED
    assert "telefon" in closed.explanation
    assert r.reevaluate(closed, facts, synced, SETTINGS, local(2026, 2, 12, 12)) is None  # history: one entry


def test_a_device_record_closes_even_an_escalated_gap():
    facts = outage(FEB, FEB + timedelta(hours=4))
    escalated = r.decide(facts, gap(FEB + timedelta(hours=1)), SETTINGS, local(2026, 2, 12, 8))
    synced = gap(FEB + timedelta(hours=1), registration=r.REGISTRATION_COMPLETE, registered_by="device")
    assert escalated.rule == r.RULE_DEADLINE_PASSED
    assert r.reevaluate(escalated, facts, synced, SETTINGS, local(2026, 2, 12, 9)).state == r.STATE_CLOSED


def test_the_passing_of_time_alone_does_not_rewrite_history_before_a_deadline():
    facts, the_gap = outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1))
    first = r.decide(facts, the_gap, SETTINGS, local(2026, 2, 10, 11))
    assert r.reevaluate(first, facts, the_gap, SETTINGS, local(2026, 2, 11, 20)) is None
    assert r.next_change_at(facts, first, SETTINGS, 1) == END_OF_WED_FEB_11


def test_marking_a_worker_absent_re_routes_the_gap():
    facts = outage(FEB, FEB + timedelta(hours=4))
    days = frozenset({date(2026, 2, 10), date(2026, 2, 11)})
    before = r.decide(facts, gap(FEB + timedelta(hours=1), duty_dates=days), SETTINGS, local(2026, 2, 10, 11))
    after = r.reevaluate(before, facts, gap(FEB + timedelta(hours=1), duty_dates=days, absent_dates=days),
                         SETTINGS, local(2026, 2, 10, 12))
    assert before.route == r.ROUTE_SELF and after.rule == r.RULE_WORKER_ABSENT
    assert "frånvarande" in after.explanation


def test_a_standing_long_outage_policy_replaces_the_wait_for_a_decision():
    settings = rs.RuleSettings.from_mapping({"long_outage_policy": {"route": "admin"}})
    d = r.decide(outage(FEB, FEB + timedelta(hours=11)), gap(FEB + timedelta(hours=1)), settings,
                 local(2026, 2, 10, 18))
    assert (d.route, d.rule, d.deadline) == (r.ROUTE_ADMIN, r.RULE_LONG_STANDING, END_OF_FRI_FEB_13)
    assert not r.assess_outage(outage(FEB, FEB + timedelta(hours=11)), settings.for_unit(1), FEB).needs_decision


def test_management_decision_overrides_the_standing_policy():
    settings = rs.RuleSettings.from_mapping({"long_outage_policy": {"route": "admin"}})
    d = r.decide(outage(FEB, FEB + timedelta(hours=11), decided=rs.Policy(r.ROUTE_SELF)),
                 gap(FEB + timedelta(hours=1)), settings, local(2026, 2, 10, 18))
    assert (d.route, d.rule, d.deadline) == (r.ROUTE_SELF, r.RULE_MANAGEMENT_POLICY, END_OF_WED_FEB_11)


def test_per_unit_overrides_change_threshold_and_deadline_for_that_unit_only():
    settings = rs.RuleSettings.from_mapping({}, unit_overrides={2: {"threshold_minutes": 12 * 60,
                                                                   "self_deadline_days": 2}})
    facts = outage(FEB, FEB + timedelta(hours=11))
    north = r.decide(facts, gap(FEB + timedelta(hours=1), unit_id=1), settings, local(2026, 2, 10, 18))
    south = r.decide(facts, gap(FEB + timedelta(hours=1), unit_id=2), settings, local(2026, 2, 10, 18))
    assert north.route == r.ROUTE_DECISION
    assert (south.route, south.deadline) == (r.ROUTE_SELF, utc(2026, 2, 12, 23))
    assert settings.for_unit(2).threshold == timedelta(hours=12)
    assert settings.for_unit(1).threshold == timedelta(hours=10)


def test_settings_from_data_round_trip_and_validate():
    settings = rs.RuleSettings.from_mapping({"threshold_minutes": 480, "admin_grace_days": 1,
                                            "long_outage_policy": None, "timezone": "Europe/Stockholm"})
    assert settings.defaults.to_dict() == {"threshold_minutes": 480, "self_deadline_days": 1,
                                           "admin_grace_days": 1, "long_outage_policy": None}
    for bad in ({"threshold_minutes": 0}, {"threshold_minutes": "10"}, {"self_deadline_days": -1},
                {"long_outage_policy": {"route": "decision"}}, {"colour": "red"}, {"timezone": "Mars/Olympus"}):
        with pytest.raises(InvalidInput):
            rs.RuleSettings.from_mapping(bad)
    with pytest.raises(InvalidInput):
        rs.RuleSettings().with_unit_override(1, {"admin_grace_days": True})


def test_outage_facts_are_checked():
    with pytest.raises(InvalidInput):
        r.OutageFacts(1, "sometimes", FEB)
    with pytest.raises(InvalidInput):
        r.OutageFacts(1, r.UNPLANNED, FEB, FEB - timedelta(minutes=1))
    with pytest.raises(InvalidInput):
        r.OutageFacts(1, r.UNPLANNED, datetime(2026, 2, 10, 6))


def test_decisions_serialise_for_the_history_table():
    d = r.decide(outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1)), SETTINGS,
                 local(2026, 2, 10, 11))
    data = d.to_dict()
    assert data["deadline"] == "2026-02-11T23:00:00Z"
    back = r.Decision.from_dict(data)
    assert back.same_as(d)
    policy = rs.Policy.from_dict({"route": "self", "deadline": "2026-02-13T00:00:00+01:00", "note": "Enligt beslut"})
    assert rs.Policy.from_dict(policy.to_dict()) == rs.Policy("self", utc(2026, 2, 12, 23), "Enligt beslut")


@pytest.mark.parametrize("start,end,inside", [
    (FEB - timedelta(hours=1), FEB - timedelta(minutes=1), False),  # ended before the outage
    (FEB - timedelta(minutes=10), FEB + timedelta(minutes=20), True),  # running when it began
    (FEB + timedelta(hours=3, minutes=50), FEB + timedelta(hours=4, minutes=20), True),
    (FEB + timedelta(hours=4), FEB + timedelta(hours=4, minutes=30), False),  # began as it ended
])
def test_which_visits_are_inside_the_outage_window(start, end, inside):
    assert r.in_window(outage(FEB, FEB + timedelta(hours=4)), start, end, local(2026, 2, 10, 12)) is inside


def test_future_visits_of_an_ongoing_outage_are_not_gaps_yet():
    facts = outage(FEB)
    now = FEB + timedelta(hours=2)
    assert r.in_window(facts, FEB + timedelta(hours=1), FEB + timedelta(hours=1, minutes=30), now)
    assert not r.in_window(facts, FEB + timedelta(hours=3), FEB + timedelta(hours=3, minutes=30), now)


@pytest.mark.parametrize("minutes,text", [(599, "9 timmar 59 minuter"), (600, "10 timmar"), (61, "1 timme 1 minut"),
                                          (5, "5 minuter")])
def test_swedish_durations(minutes, text):
    assert dates.format_duration_sv(timedelta(minutes=minutes)) == text


def test_shortening_an_outage_closes_gaps_that_fall_outside_it():
    the_gap = gap(FEB + timedelta(hours=5))
    before = r.decide(outage(FEB, FEB + timedelta(hours=8)), the_gap, SETTINGS, local(2026, 2, 10, 15))
    after = r.reevaluate(before, outage(FEB, FEB + timedelta(hours=4)), the_gap, SETTINGS, local(2026, 2, 10, 15))
    assert before.route == r.ROUTE_SELF
    assert (after.state, after.rule) == (r.STATE_CLOSED, r.RULE_OUTSIDE_WINDOW)


def test_days_already_past_do_not_count_as_days_the_worker_could_register():
    # The outage ended yesterday morning; the worker worked yesterday afternoon but is absent today.
    facts = outage(FEB, FEB + timedelta(hours=4))
    days = frozenset({date(2026, 2, 10), date(2026, 2, 11)})
    d = r.decide(facts, gap(FEB + timedelta(hours=1), duty_dates=days, absent_dates=frozenset({date(2026, 2, 11)})),
                 SETTINGS, local(2026, 2, 11, 8))
    assert (d.route, d.rule, d.inputs["self_days"]) == (r.ROUTE_ADMIN, r.RULE_WORKER_ABSENT, ["2026-02-11"])


def test_a_passed_deadline_is_named_even_for_a_worker_who_is_now_off():
    d = r.decide(outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1), duty_dates=frozenset()),
                 SETTINGS, local(2026, 2, 12, 8))
    assert d.rule == r.RULE_DEADLINE_PASSED


# ---------------------------------------------------------------------------------------------- issue 27: 10 and 12

def test_a_visit_inside_two_outages_belongs_to_the_earliest_and_is_closed_in_the_other():
    first = r.OutageFacts(id=5, kind=r.UNPLANNED, started_at=FEB, ended_at=FEB + timedelta(hours=2))
    second = r.OutageFacts(id=4, kind=r.PLANNED, started_at=FEB + timedelta(hours=1, minutes=45),
                           ended_at=FEB + timedelta(hours=4))
    visit = FEB + timedelta(hours=1, minutes=30)  # 07:30–08:00, inside both windows
    now = local(2026, 2, 10, 11)
    assert r.covering_outage([second, first], visit, visit + timedelta(minutes=30), now) is first
    assert r.covering_outage([second], visit, visit + timedelta(minutes=30), now) is second  # first withdrawn
    held = r.decide(second, gap(visit, covered_by=first.id), SETTINGS, now)
    assert (held.state, held.route, held.rule) == (r.STATE_CLOSED, None, r.RULE_OTHER_OUTAGE)
    assert "nr 5" in held.explanation and held.inputs["covered_by"] == 5
    assert r.decide(first, gap(visit), SETTINGS, now).route == r.ROUTE_SELF


def test_a_policy_deadline_with_a_time_of_day_is_explained_with_the_time():
    policy = rs.Policy(r.ROUTE_SELF, deadline=local(2026, 2, 12, 16, 0))
    d = r.decide(outage(FEB, FEB + timedelta(hours=14), decided=policy), gap(FEB + timedelta(hours=1)), SETTINGS,
                 local(2026, 2, 11, 9))
    assert d.deadline == utc(2026, 2, 12, 15)
    assert "senast torsdag 12 februari 2026 kl. 16:00" in d.explanation
    assert "by Thursday 12 February 2026 at 16:00" in d.explanation_en
    late = r.decide(outage(FEB, FEB + timedelta(hours=14), decided=policy), gap(FEB + timedelta(hours=1)), SETTINGS,
                    local(2026, 2, 12, 16, 1))
    assert late.rule == r.RULE_DEADLINE_PASSED and "senast torsdag 12 februari 2026 kl. 16:00" in late.explanation


def test_a_deadline_at_the_end_of_a_day_is_explained_with_the_day_only():
    d = r.decide(outage(FEB, FEB + timedelta(hours=4)), gap(FEB + timedelta(hours=1)), SETTINGS,
                 local(2026, 2, 10, 11))
    assert "senast onsdag 11 februari 2026." in d.explanation and "kl." not in d.explanation


def test_a_withdrawn_outage_closes_its_gaps_with_the_reason():
    d = r.withdrawn(9, "Fel enhet angiven", FEB)
    assert (d.state, d.route, d.deadline, d.rule) == (r.STATE_CLOSED, None, None, r.RULE_WITHDRAWN)
    assert "Fel enhet angiven" in d.explanation and d.inputs["reason"] == "Fel enhet angiven"
