"""The post-registration rule engine (DOMAIN.md rules 1–7): for every gap after an outage, who registers it and by when.

A decision is a pure function of facts — the outage, the gap, the settings and the current time — so the
server can re-evaluate whenever a fact changes (the outage ends or is extended, a record syncs, a deadline
passes, a worker is marked absent or hands a gap over) and store a new decision only when it differs.
Thresholds, deadlines and the standing long-outage policy are settings (`sync.rule_settings`), with
per-unit overrides; every decision names the rule that fired, the inputs it used and a plain-Swedish
explanation. Durations are elapsed time and days are local calendar days (`sync.dates`).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Optional

from .dates import (days_between, days_sv, elapsed, end_of_day, format_day_en, format_day_sv, format_deadline_en,
                    format_deadline_sv, format_duration_en, format_duration_sv, iso, last_day, local_date,
                    parse_iso, utc)
from .errors import InvalidInput
from .rule_settings import ROUTE_ADMIN, ROUTE_SELF, Policy, RuleSettings, UnitRules

ROUTE_DECISION = "decision"  # the unit's management must first choose the policy for this outage
ROUTES = (ROUTE_SELF, ROUTE_ADMIN, ROUTE_DECISION)

STATE_OPEN = "open"
STATE_CLOSED = "closed"

PLANNED = "planned"
UNPLANNED = "unplanned"
OUTAGE_KINDS = (PLANNED, UNPLANNED)

REGISTRATION_NONE = "none"
REGISTRATION_PARTIAL = "partial"  # a start or an end, not both: still a gap
REGISTRATION_COMPLETE = "complete"
REGISTRATION_STATES = (REGISTRATION_NONE, REGISTRATION_PARTIAL, REGISTRATION_COMPLETE)

# Rule ids, stored with every decision. The order below is the order in which they are tried.
RULE_REGISTERED = "registered"
RULE_OUTSIDE_WINDOW = "outside_window"
RULE_OTHER_OUTAGE = "covered_by_other_outage"
RULE_WITHDRAWN = "outage_withdrawn"
RULE_MANAGEMENT_POLICY = "management_policy"
RULE_PLANNED_ANNOUNCED = "planned_announced_policy"
RULE_PLANNED_SELF = "planned_self"
RULE_SHORT_ONGOING = "short_outage_ongoing"
RULE_SHORT_SELF = "short_outage_self"
RULE_LONG_STANDING = "long_outage_standing_policy"
RULE_LONG_DECISION = "long_outage_needs_decision"
RULE_HANDED_OVER = "handed_over"
RULE_WORKER_ABSENT = "worker_absent"
RULE_WORKER_OFF_DUTY = "worker_off_duty"
RULE_DEADLINE_PASSED = "self_deadline_passed"

RULES = (
    {"id": RULE_OUTSIDE_WINDOW, "domain_rule": None,
     "sv": "Besöket ligger inte längre inom driftstoppet (tiderna har ändrats) – ingen lucka."},
    {"id": RULE_OTHER_OUTAGE, "domain_rule": None,
     "sv": "Besöket ligger också inom ett tidigare driftstopp och är en lucka där – ett besök är en lucka, "
           "hur många driftstopp det än ligger i."},
    {"id": RULE_WITHDRAWN, "domain_rule": None,
     "sv": "Driftstoppet är återkallat (registrerat av misstag) – luckan stängs."},
    {"id": RULE_REGISTERED, "domain_rule": None,
     "sv": "Besöket har en registrering (från telefonen eller efterregistrerad) – ingen lucka."},
    {"id": RULE_MANAGEMENT_POLICY, "domain_rule": 5,
     "sv": "Enhetens ledning har beslutat hur efterregistreringen görs för just detta driftstopp."},
    {"id": RULE_PLANNED_ANNOUNCED, "domain_rule": 6,
     "sv": "Planerat driftstopp: det som meddelades i förväg gäller."},
    {"id": RULE_PLANNED_SELF, "domain_rule": 6,
     "sv": "Planerat driftstopp utan annat besked: medarbetaren efterregistrerar själv."},
    {"id": RULE_SHORT_ONGOING, "domain_rule": 2,
     "sv": "Pågående oplanerat driftstopp, ännu inom gränsen: medarbetaren efterregistrerar själv."},
    {"id": RULE_SHORT_SELF, "domain_rule": 2,
     "sv": "Oplanerat driftstopp högst lika långt som gränsen: medarbetaren efterregistrerar själv "
           "senast dagen efter."},
    {"id": RULE_LONG_STANDING, "domain_rule": 5,
     "sv": "Långt oplanerat driftstopp: enhetens stående beslut för långa driftstopp gäller."},
    {"id": RULE_LONG_DECISION, "domain_rule": 5,
     "sv": "Långt oplanerat driftstopp: enhetens ledning beslutar hur efterregistreringen görs."},
    {"id": RULE_HANDED_OVER, "domain_rule": 3,
     "sv": "Medarbetaren har lämnat besöket till administratör."},
    {"id": RULE_WORKER_ABSENT, "domain_rule": 3,
     "sv": "Medarbetaren är frånvarande och kan inte efterregistrera själv."},
    {"id": RULE_WORKER_OFF_DUTY, "domain_rule": 3,
     "sv": "Medarbetaren arbetar inte de dagar efterregistreringen ska göras."},
    {"id": RULE_DEADLINE_PASSED, "domain_rule": 4,
     "sv": "Medarbetarens sista dag har passerat: ärendet går till administratör."},
)


# ---------------------------------------------------------------------------------------------- facts

@dataclass(frozen=True)
class OutageFacts:
    id: object
    kind: str                                   # planned | unplanned
    started_at: datetime
    ended_at: Optional[datetime] = None         # None while it is ongoing
    announced_policy: Optional[Policy] = None   # planned: what the announcement said
    decided_policy: Optional[Policy] = None     # the unit management's decision for this outage

    def __post_init__(self):
        if self.kind not in OUTAGE_KINDS:
            raise InvalidInput(f"Okänd typ av driftstopp: {self.kind!r}.", errors={"kind": ["planned eller unplanned."]})
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInput("Tider måste ha tidszon.", errors={name: ["Tidszon saknas."]})
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise InvalidInput("Driftstoppet kan inte sluta innan det började.",
                               errors={"ended_at": ["Före starttiden."]})


@dataclass(frozen=True)
class GapFacts:
    """One scheduled visit of one worker inside the outage window, and what is known about its registration."""

    visit_id: int
    worker_id: int
    unit_id: int
    planned_start: datetime
    planned_end: datetime
    registration: str = REGISTRATION_NONE
    registered_by: Optional[str] = None        # device | backfill, when there is a registration
    handed_over: bool = False                  # "Jag kan inte – lämna till administratör"
    duty_dates: Optional[frozenset] = None     # local dates the worker works; None: unknown, assume on duty
    absent_dates: frozenset = frozenset()      # local dates the worker is marked absent
    covered_by: Optional[object] = None        # id of an earlier outage whose window also holds the visit


@dataclass(frozen=True)
class OutageAssessment:
    elapsed: timedelta
    ongoing: bool
    long: bool
    needs_decision: bool  # unplanned, long, and neither a decision nor a standing policy says what to do


@dataclass(frozen=True)
class Decision:
    state: str
    route: Optional[str]
    deadline: Optional[datetime]  # UTC, exclusive: register before this instant (= end of a local day)
    rule: str
    inputs: dict
    explanation: str              # Swedish, shown to workers, administrators and managers
    explanation_en: str

    def same_as(self, other: Optional["Decision"]) -> bool:
        """Equal in what matters to people; inputs such as the elapsed time of an ongoing outage may drift."""
        return other is not None and (self.state, self.route, self.deadline, self.rule) == \
            (other.state, other.route, other.deadline, other.rule)

    def to_dict(self):
        return {"state": self.state, "route": self.route, "deadline": iso(self.deadline), "rule": self.rule,
                "inputs": self.inputs, "explanation": self.explanation, "explanation_en": self.explanation_en}

    @classmethod
    def from_dict(cls, data):
        deadline = data.get("deadline")
        return cls(state=data["state"], route=data.get("route"),
                   deadline=parse_iso(deadline, "deadline") if isinstance(deadline, str) else deadline,
                   rule=data["rule"], inputs=dict(data.get("inputs") or {}),
                   explanation=data.get("explanation", ""), explanation_en=data.get("explanation_en", ""))


def _window(outage: OutageFacts, now: datetime) -> tuple:
    """(start, end, now) of the outage window in UTC; an ongoing outage's window ends now."""
    return (utc(outage.started_at), utc(outage.ended_at if outage.ended_at is not None else now), utc(now))


def _inside(window: tuple, planned_start: datetime, planned_end: datetime) -> bool:
    start, end, now = window
    planned_start = utc(planned_start)
    return planned_start < end and utc(planned_end) > start and planned_start <= now


def in_window(outage: OutageFacts, planned_start: datetime, planned_end: datetime, now: datetime) -> bool:
    """A visit is in the outage window if it overlaps it and has begun: gaps exist only for the past."""
    return _inside(_window(outage, now), planned_start, planned_end)


def covering_outage(outages, planned_start: datetime, planned_end: datetime, now: datetime):
    """The one outage a visit's gap belongs to when several outages' windows hold it: the earliest started
    (then the first registered). A visit missing its registration is one gap, however many outages surround
    it; if that outage goes away (withdrawn), the next one takes the visit."""
    holding = [o for o in outages if in_window(o, planned_start, planned_end, now)]
    return min(holding, key=lambda o: (utc(o.started_at), o.id)) if holding else None


@lru_cache(maxsize=1024)
def assess_outage(outage: OutageFacts, rules: UnitRules, now: datetime) -> OutageAssessment:
    ongoing = outage.ended_at is None
    spent = elapsed(outage.started_at, now if ongoing else outage.ended_at)
    spent = max(spent, timedelta(0))  # a planned outage that has not begun
    long = spent > rules.threshold  # rule 1: the threshold itself still counts as short
    needs = (outage.kind == UNPLANNED and long and outage.decided_policy is None
             and rules.long_outage_policy is None)
    return OutageAssessment(elapsed=spent, ongoing=ongoing, long=long, needs_decision=needs)


# ---------------------------------------------------------------------------------------------- the engine

@dataclass(frozen=True)
class _Plan:
    """What `decide` works out once per outage, unit rules and moment — the same for every gap of a unit
    (45,000 gaps of one outage share 30 of these): the common inputs, the window, the applicable policy
    with its explanation, the deadlines and the days the worker could post-register on."""

    inputs: tuple                   # (key, value) pairs every decision's inputs start with
    window: tuple                   # _window(outage, now)
    policy: Optional[Policy]
    rule: Optional[str]
    why: tuple                      # (sv, en) explanation of the policy, or the whole text when waiting for one
    self_deadline: Optional[datetime]
    admin_deadline: Optional[datetime]
    admin_by: tuple                 # (sv, en)
    deadline_passed: bool
    days: tuple                     # the local days from today on the worker could do it
    days_iso: tuple
    texts: tuple = ()               # (sv, en) per route that reads the same for every gap: see _TEXT_*


_TEXT_ADMIN, _TEXT_HANDED_OVER, _TEXT_DEADLINE_PASSED, _TEXT_SELF, _TEXT_SELF_PARTIAL = range(5)


@lru_cache(maxsize=1024)
def _plan(outage: OutageFacts, rules: UnitRules, now: datetime, tz, timezone_name: str) -> _Plan:
    a = assess_outage(outage, rules, now)
    inputs = (("outage_id", outage.id), ("outage_kind", outage.kind), ("started_at", iso(outage.started_at)),
              ("ended_at", iso(outage.ended_at)), ("elapsed_minutes", int(a.elapsed.total_seconds() // 60)),
              ("threshold_minutes", int(rules.threshold.total_seconds() // 60)), ("long", a.long),
              ("ongoing", a.ongoing), ("now", iso(now)), ("timezone", timezone_name))
    window = _window(outage, now)
    dur_sv, dur_en = format_duration_sv(a.elapsed), format_duration_en(a.elapsed)
    thr_sv, thr_en = format_duration_sv(rules.threshold), format_duration_en(rules.threshold)
    lasted_sv = "har pågått" if a.ongoing else "varade"
    lasted_en = "has lasted" if a.ongoing else "lasted"

    # -- which policy applies to the outage as a whole (rules 2, 5, 6)
    if outage.decided_policy is not None:
        policy, rule = outage.decided_policy, RULE_MANAGEMENT_POLICY
        why_sv = f"Driftstoppet {lasted_sv} {dur_sv}. Enligt enhetens lednings beslut"
        why_en = f"The outage {lasted_en} {dur_en}. The unit's management decided that"
    elif outage.kind == PLANNED and outage.announced_policy is not None:
        policy, rule = outage.announced_policy, RULE_PLANNED_ANNOUNCED
        why_sv = "Planerat driftstopp. Enligt meddelandet i förväg"
        why_en = "Planned outage. As announced beforehand,"
    elif outage.kind == PLANNED:
        policy, rule = Policy(ROUTE_SELF), RULE_PLANNED_SELF
        why_sv = "Planerat driftstopp utan annat besked. Därför"
        why_en = "Planned outage with no other instruction, so"
    elif not a.long:
        policy = Policy(ROUTE_SELF)
        rule = RULE_SHORT_ONGOING if a.ongoing else RULE_SHORT_SELF
        why_sv = f"Driftstoppet {lasted_sv} {dur_sv}, inte längre än gränsen {thr_sv}. Därför"
        why_en = f"The outage {lasted_en} {dur_en}, not longer than the {thr_en} threshold. So"
    elif rules.long_outage_policy is not None:
        policy, rule = rules.long_outage_policy, RULE_LONG_STANDING
        why_sv = f"Driftstoppet {lasted_sv} {dur_sv}, längre än gränsen {thr_sv}. Enligt enhetens stående beslut"
        why_en = f"The outage {lasted_en} {dur_en}, longer than the {thr_en} threshold. By the unit's standing policy"
    else:  # long, unplanned, no standing policy: the visit waits for management's decision
        return _Plan(inputs, window, None, RULE_LONG_DECISION, (
            f"Driftstoppet {lasted_sv} {dur_sv}, längre än gränsen {thr_sv}. Enhetens ledning "
            f"beslutar hur tider och insatser ska efterregistreras; besöket väntar på det beslutet.",
            f"The outage {lasted_en} {dur_en}, longer than the {thr_en} threshold. The unit's "
            f"management decides how times and interventions are post-registered; the visit waits "
            f"for that decision."), None, None, ("", ""), False, (), ())

    # -- the deadlines (rule 2; rule 4's grace for administrators)
    ended = outage.ended_at
    if policy.deadline is not None:
        self_deadline = utc(policy.deadline)
    elif ended is not None:
        self_deadline = end_of_day(local_date(ended, tz) + timedelta(days=rules.self_deadline_days), tz)
    else:
        self_deadline = None  # set when the outage ends
    admin_deadline = (end_of_day(last_day(self_deadline, tz) + timedelta(days=rules.admin_grace_days), tz)
                      if self_deadline is not None else None)
    admin_by = ((f"senast {format_day_sv(last_day(admin_deadline, tz))}", f"by {format_day_en(last_day(admin_deadline, tz))}")
                if admin_deadline else ("när driftstoppet är över", "once the outage is over"))
    if self_deadline is not None:
        by_sv, by_en = f"senast {format_deadline_sv(self_deadline, tz)}", f"by {format_deadline_en(self_deadline, tz)}"
    else:
        by_sv = "när systemet är tillbaka (sista dag sätts när driftstoppet är över)"
        by_en = "once the system is back (the last day is set when the outage is over)"
    # Only days from today on count: yesterday's shift after the outage is no help to a worker absent today.
    first = max(local_date(ended if ended is not None else now, tz), local_date(now, tz))
    last = last_day(self_deadline, tz) if self_deadline is not None else first + timedelta(days=rules.self_deadline_days)
    days = days_between(first, last)
    admin_by_sv, admin_by_en = admin_by
    note = f" ({policy.note})" if policy.note else ""
    own_sv = f"{why_sv} efterregistrerar medarbetaren själv tider och insatser{note}, {by_sv}."
    own_en = f"{why_en} the worker post-registers times and interventions{note}, {by_en}."
    texts = (
        (f"{why_sv} efterregistrerar administratör tider och insatser{note}, {admin_by_sv}.",
         f"{why_en} an administrator post-registers times and interventions{note}, {admin_by_en}."),
        (f"Medarbetaren har meddelat att hen inte kan efterregistrera besöket och lämnat det till "
         f"administratör, som efterregistrerar {admin_by_sv}.",
         f"The worker said they cannot post-register the visit and handed it to an administrator, "
         f"who post-registers it {admin_by_en}."),
        (f"Medarbetaren skulle ha efterregistrerat senast {format_deadline_sv(self_deadline, tz)}, "
         f"men besöket är fortfarande inte registrerat. Administratör efterregistrerar {admin_by_sv}.",
         f"The worker should have post-registered by {format_deadline_en(self_deadline, tz)}, "
         f"but the visit is still not registered. An administrator does it {admin_by_en}.")
        if self_deadline is not None else ("", ""),
        (own_sv, own_en),
        (own_sv + " Start eller slut saknas fortfarande.", own_en + " The start or end is still missing."))
    return _Plan(inputs, window, policy, rule, (why_sv, why_en), self_deadline, admin_deadline, admin_by,
                 self_deadline is not None and utc(now) >= self_deadline, days, tuple(d.isoformat() for d in days),
                 texts)


def decide(outage: OutageFacts, gap: GapFacts, settings: RuleSettings, now: datetime) -> Decision:
    """The route and deadline of one gap, with the rule that fired and why (rules 1–7 of DOMAIN.md)."""
    plan = _plan(outage, settings.for_unit(gap.unit_id), now, settings.tz, settings.timezone)
    inputs = dict(plan.inputs)
    inputs.update(visit_id=gap.visit_id, worker_id=gap.worker_id, unit_id=gap.unit_id,
                  registration=gap.registration, handed_over=gap.handed_over)

    def decision(state, route, deadline, rule, sv, en):
        inputs["deadline"] = iso(deadline)
        return Decision(state, route, deadline, rule, inputs, sv, en)

    if not _inside(plan.window, gap.planned_start, gap.planned_end):
        return decision(STATE_CLOSED, None, None, RULE_OUTSIDE_WINDOW,
                        "Besöket ligger inte inom driftstoppets tider (de har ändrats). Ingen efterregistrering "
                        "behövs på grund av driftstoppet.",
                        "The visit is not inside the outage window (its times changed). No post-registration is "
                        "needed because of the outage.")
    if gap.covered_by is not None:
        inputs["covered_by"] = gap.covered_by
        return decision(STATE_CLOSED, None, None, RULE_OTHER_OUTAGE,
                        f"Besöket ligger också inom ett tidigare driftstopp (nr {gap.covered_by}) och hanteras där. "
                        f"Ett besök är en lucka, hur många driftstopp det än ligger i.",
                        f"The visit also lies inside an earlier outage (no. {gap.covered_by}) and is handled there. "
                        f"A visit is one gap, however many outages surround it.")
    if gap.registration == REGISTRATION_COMPLETE:
        who_sv = {"device": " från medarbetarens telefon", "backfill": " av administratör"}.get(gap.registered_by, "")
        who_en = {"device": " from the worker's phone", "backfill": " by an administrator"}.get(gap.registered_by, "")
        return decision(STATE_CLOSED, None, None, RULE_REGISTERED,
                        f"Besöket är registrerat{who_sv}. Inget mer behöver göras.",
                        f"The visit is registered{who_en}. Nothing more to do.")
    policy, rule, (why_sv, why_en) = plan.policy, plan.rule, plan.why
    if policy is None:
        return decision(STATE_OPEN, ROUTE_DECISION, None, rule, why_sv, why_en)
    inputs["policy"] = policy.to_dict()
    admin_deadline, (admin_by_sv, admin_by_en) = plan.admin_deadline, plan.admin_by

    texts = plan.texts
    if policy.route == ROUTE_ADMIN:
        return decision(STATE_OPEN, ROUTE_ADMIN, admin_deadline, rule, *texts[_TEXT_ADMIN])

    # -- the worker would do it: can they? (rules 3 and 4)
    window = plan.days
    inputs["self_days"] = list(plan.days_iso)
    absent = [d for d in window if d in gap.absent_dates]
    on_duty = window if gap.duty_dates is None else [d for d in window if d in gap.duty_dates]
    available = [d for d in on_duty if d not in gap.absent_dates]
    inputs["available_days"] = [iso for d, iso in zip(window, plan.days_iso) if d in available]

    if gap.handed_over:
        return decision(STATE_OPEN, ROUTE_ADMIN, admin_deadline, RULE_HANDED_OVER, *texts[_TEXT_HANDED_OVER])
    if plan.deadline_passed:
        return decision(STATE_OPEN, ROUTE_ADMIN, admin_deadline, RULE_DEADLINE_PASSED, *texts[_TEXT_DEADLINE_PASSED])
    if not available:
        if absent:
            return decision(STATE_OPEN, ROUTE_ADMIN, admin_deadline, RULE_WORKER_ABSENT,
                            f"Medarbetaren är frånvarande ({days_sv(absent)}) och kan inte efterregistrera själv. "
                            f"Administratör efterregistrerar {admin_by_sv}.",
                            f"The worker is absent ({', '.join(d.isoformat() for d in absent)}) and cannot "
                            f"post-register. An administrator does it {admin_by_en}.")
        return decision(STATE_OPEN, ROUTE_ADMIN, admin_deadline, RULE_WORKER_OFF_DUTY,
                        f"Medarbetaren arbetar inte {days_sv(window)} och kan inte efterregistrera själv. "
                        f"Administratör efterregistrerar {admin_by_sv}.",
                        f"The worker is not on duty {window[0].isoformat()}–{window[-1].isoformat()} and cannot "
                        f"post-register. An administrator does it {admin_by_en}.")
    return decision(STATE_OPEN, ROUTE_SELF, plan.self_deadline, rule,
                    *texts[_TEXT_SELF_PARTIAL if gap.registration == REGISTRATION_PARTIAL else _TEXT_SELF])


def withdrawn(outage_id, reason: str, now: datetime) -> Decision:
    """The closing decision of every gap of an outage withdrawn as registered by mistake."""
    return Decision(STATE_CLOSED, None, None, RULE_WITHDRAWN,
                    {"outage_id": outage_id, "reason": reason, "now": iso(now)},
                    f"Driftstoppet är återkallat som registrerat av misstag (”{reason.strip()}”). Ingen "
                    f"efterregistrering behövs på grund av det.",
                    f"The outage was withdrawn as registered by mistake (“{reason.strip()}”). No post-registration "
                    f"is needed because of it.")


def reevaluate(previous: Optional[Decision], outage: OutageFacts, gap: GapFacts, settings: RuleSettings,
               now: datetime) -> Optional[Decision]:
    """Rule 7: the new decision when facts changed it, else None (so the history gets an entry per change)."""
    new = decide(outage, gap, settings, now)
    return None if new.same_as(previous) else new


def next_change_at(outage: OutageFacts, decision: Decision, settings: RuleSettings, unit_id) -> Optional[datetime]:
    """When this decision will change by the clock alone (a deadline passes, an ongoing outage crosses
    the threshold), so a scheduler knows when to re-evaluate; None when only new facts can change it."""
    if decision.state != STATE_OPEN:
        return None
    if decision.route == ROUTE_SELF and decision.deadline is not None:
        return decision.deadline
    rules = settings.for_unit(unit_id)
    if outage.ended_at is None and outage.kind == UNPLANNED and decision.rule == RULE_SHORT_ONGOING:
        return utc(outage.started_at) + rules.threshold + timedelta(microseconds=1)
    return None


# ---------------------------------------------------------------------------------------------- helpers
