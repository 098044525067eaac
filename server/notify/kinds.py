"""What each kind of notification says, to whom it is meant, which screen it opens, how urgent and how long-lived.

Push services see what we send, so the texts are built only from counts and times: a kind declares its
parameters, and anything else (a name, a personal number, a note) is refused before it reaches the outbox.
"""
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

WEEKDAYS = ("mån", "tis", "ons", "tor", "fre", "lör", "sön")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Kind:
    name: str
    audience: str  # who it is meant for, in words (README, tests)
    title: str
    body: str
    title_en: str
    body_en: str
    url: str  # the screen a click opens
    urgency: str  # RFC 8030 §5.3: very-low | low | normal | high
    ttl: int  # seconds the push service may hold it for an offline phone
    params: tuple = ()  # (name, "int" | "time") pairs the texts may use


KINDS = {k.name: k for k in (
    Kind("outage_announced", "staff of the affected units",
         "Planerat driftstopp", "Driftstopp {starts_at} – {ends_at}. Uppdatera din offlinekopia innan dess.",
         "Planned outage", "Outage {starts_at} – {ends_at}. Update your offline copy before then.",
         "/#/sync", "normal", 24 * 3600, (("starts_at", "time"), ("ends_at", "time"))),
    Kind("outage_announced_open", "staff of the affected units (a planned outage whose end is not known)",
         "Planerat driftstopp", "Driftstopp från {starts_at}, sluttiden är inte känd. "
         "Uppdatera din offlinekopia innan dess.",
         "Planned outage", "Outage from {starts_at}, the end is not known yet. Update your offline copy before then.",
         "/#/sync", "normal", 24 * 3600, (("starts_at", "time"),)),
    Kind("outage_withdrawn", "staff of the affected units, when an outage they were told of is withdrawn",
         "Driftstoppet är återkallat", "Driftstoppet registrerades av misstag. Arbeta och registrera som vanligt.",
         "Outage withdrawn", "The outage was registered by mistake. Work and record as usual.",
         "/#/today", "normal", 12 * 3600),
    Kind("outage_reminder", "staff of the affected units, the day before",
         "Driftstopp i morgon", "Driftstoppet börjar {starts_at}. Uppdatera din offlinekopia i dag.",
         "Outage tomorrow", "The outage starts {starts_at}. Update your offline copy today.",
         "/#/sync", "normal", 12 * 3600, (("starts_at", "time"),)),
    Kind("outage_started", "staff of the affected units",
         "Driftstopp pågår", "Verksamhetssystemet är nere. Registrera i appen som vanligt – inget går förlorat.",
         "Outage in progress", "The care system is down. Record in the app as usual – nothing is lost.",
         "/#/today", "high", 3600),
    Kind("outage_ended", "staff of the affected units",
         "Systemet är tillbaka", "Systemet är tillbaka – öppna appen så synkas dina registreringar.",
         "The system is back", "The system is back – open the app and your records will sync.",
         "/#/sync", "high", 12 * 3600),
    Kind("deadline_today", "the worker who should self-register",
         "Efterregistrera i dag", "Du har {count} besök att efterregistrera senast {deadline}.",
         "Post-register today", "You have {count} visits to post-register by {deadline}.",
         "/#/postreg", "normal", 12 * 3600, (("count", "int"), ("deadline", "time"))),
    Kind("gap_escalated", "the unit's administrators",
         "Efterregistrering till administratör", "{count} besök ska nu efterregistreras av administratör.",
         "Backfill needed", "{count} visits now need to be backfilled by an administrator.",
         "/admin/backfill.html", "normal", 24 * 3600, (("count", "int"),)),
    Kind("threshold_crossed", "the unit's managers",
         "Driftstopp över {hours} timmar", "Ett pågående driftstopp har passerat gränsen. "
         "Beslut om efterregistrering behövs.",
         "Outage over {hours} hours", "An ongoing outage has crossed the threshold. "
         "A post-registration decision is needed.",
         "/admin/outages.html", "high", 6 * 3600, (("hours", "int"),)),
    Kind("threshold_passed_ended", "the unit's managers (an outage entered or ended that lasted past the threshold)",
         "Driftstopp längre än {hours} timmar", "Ett driftstopp som nu är över varade längre än gränsen. "
         "Beslut om efterregistrering behövs.",
         "Outage longer than {hours} hours", "An outage that is now over lasted longer than the threshold. "
         "A post-registration decision is needed.",
         "/admin/outages.html", "high", 24 * 3600, (("hours", "int"),)),
    Kind("offline_copy_stale", "the worker whose device holds the old copy",
         "Din offlinekopia är gammal", "Offlinekopian är {age_minutes} minuter gammal. "
         "Öppna appen med nätverk så uppdateras den.",
         "Your offline copy is old", "The offline copy is {age_minutes} minutes old. "
         "Open the app online to refresh it.",
         "/#/sync", "normal", 3600, (("age_minutes", "int"),)),
    Kind("deviation_reported", "the unit's managers and the client's responsible nurse",
         "Ny avvikelse", "En avvikelse rapporterades {at}. Öppna Avvikelser för att ta emot den.",
         "New deviation", "A deviation was reported {at}. Open Deviations to receive it.",
         "/admin/deviations.html", "high", 24 * 3600, (("at", "time"),)),
    Kind("medication_missed", "the client's responsible nurse (else the unit's managers)",
         "Läkemedel inte överlämnat", "En läkemedelsöverlämning {at} blev inte av. Se Utebliven vård.",
         "Medication not handed over", "A medication hand-over {at} did not happen. See Missed care.",
         "/admin/deviations.html#missed", "high", 24 * 3600, (("at", "time"),)),
)}


class PayloadError(ValueError):
    """A caller tried to put something into a notification that its kind does not allow."""


def clean_params(kind, data):
    """Keep declared parameters only, as int or aware datetime; refuse strings and unknown keys."""
    allowed = dict(kind.params)
    unknown = set(data or {}) - set(allowed)
    if unknown:
        raise PayloadError(f"{kind.name} takes no {sorted(unknown)} (push payloads carry counts and times only)")
    clean = {}
    for name, type_ in allowed.items():
        if name not in (data or {}):
            raise PayloadError(f"{kind.name} needs {name}")
        value = data[name]
        if type_ == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            raise PayloadError(f"{kind.name}.{name} must be an int")
        if type_ == "time":
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise PayloadError(f"{kind.name}.{name} must be an aware datetime")
            value = value.astimezone(timezone.utc).isoformat()
        clean[name] = value
    return clean


def _format_time(iso, tz, now, english):
    local = datetime.fromisoformat(iso).astimezone(tz)
    today = now.astimezone(tz).date()
    clock = local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return f"today {clock}" if english else f"i dag {clock}"
    if days == 1:
        return f"tomorrow {clock}" if english else f"i morgon {clock}"
    weekday = (WEEKDAYS_EN if english else WEEKDAYS)[local.weekday()]
    return f"{weekday} {local.day}/{local.month} {clock}"


def render(kind, params, tz_name, now):
    """(title, body, title_en, body_en) for these parameters, times in the municipality's time zone."""
    tz = ZoneInfo(tz_name)
    types = dict(kind.params)

    def fill(template, english):
        values = {name: (_format_time(value, tz, now, english) if types[name] == "time" else value)
                  for name, value in params.items()}
        return template.format(**values)

    return fill(kind.title, False), fill(kind.body, False), fill(kind.title_en, True), fill(kind.body_en, True)
