"""Cell parsers of the import: each turns one cell's text into a value or says in Swedish what is wrong with it."""
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sync import personnummer

LOCAL = ZoneInfo("Europe/Stockholm")  # what a time without offset means: the municipality's wall clock
YEARS = (2000, 2099)  # as server.schemas.Moment: a visit outside this is a typing error
_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates
_PERSONAL = re.compile(r"^(\d{8})[-+]?(\d{4})$")
YES = {"ja", "j", "yes", "y", "true", "1", "x"}
NO = {"nej", "n", "no", "false", "0"}


class FieldError(ValueError):
    """A cell that cannot be used; the message is shown with file, line and column."""


def text(max_len):
    def parse(value):
        if _FORBIDDEN.search(value):
            raise FieldError("Innehåller otillåtna tecken.")
        if len(value) > max_len:
            raise FieldError(f"Högst {max_len} tecken (här {len(value)}).")
        return value or None
    return parse


def required(parse):
    def parse_required(value):
        if not value:
            raise FieldError("Får inte vara tom.")
        return parse(value)
    return parse_required


def identifier(value):
    """An external id: printable, no `|` (it separates ids in a cell), at most 64 characters."""
    if not value:
        raise FieldError("Får inte vara tom.")
    if len(value) > 64 or "|" in value or not value.isprintable():
        raise FieldError("Ett id har högst 64 tecken, inga styrtecken och inget |.")
    return value


REPEATED = 1 << 14  # distinct cells remembered per parser: a schedule repeats its times and its staff lists


@lru_cache(maxsize=REPEATED)
def id_list(value):
    return tuple(identifier(v.strip()) for v in value.split("|")) if value else ()


def minutes(value):
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 24 * 60:
        raise FieldError("Ange ett antal minuter, 1–1440.")
    return int(value)


def yes_no(empty):
    """ja/nej; an empty cell means `empty` (a person is active, a visit is not cancelled)."""
    def parse(value):
        lowered = value.lower()
        if not lowered:
            return empty
        if lowered in YES:
            return True
        if lowered in NO:
            return False
        raise FieldError("Ange ja eller nej.")
    return parse


def role(value):
    if value not in ("worker", "admin", "manager"):
        raise FieldError("Ange worker, admin eller manager.")
    return value


def personal_number(value):
    """YYYYMMDD-NNNN (also without the dash) with a valid date and check digit; a samordningsnummer has the
    day plus 60. Stored as YYYYMMDD-NNNN."""
    m = _PERSONAL.match(value.strip())
    if not m or not value.isascii():
        raise FieldError("Ange personnummer som ÅÅÅÅMMDD-NNNN (tolv siffror).")
    birth, tail = m.groups()
    year, month, day = int(birth[:4]), int(birth[4:6]), int(birth[6:])
    coordination = day > 60
    try:
        datetime(year, month, day - 60 if coordination else day)
    except ValueError:
        what = "samordningsnumret" if coordination else "personnumret"
        raise FieldError(f"Datumet i {what} finns inte ({birth}).")
    number = f"{birth}-{tail}"
    if not personnummer.is_valid(number):
        expected = personnummer.check_digit(birth[2:] + tail[:3])
        raise FieldError(f"Fel kontrollsiffra: {tail[3]}, ska vara {expected}.")
    return number


@lru_cache(maxsize=REPEATED)
def moment(value):
    """An ISO time with offset (`2026-12-07T08:00+01:00`, `Z`) or Europe/Stockholm local (`2026-12-07 08:00`).
    A local time that does not exist (spring forward) or exists twice (fall back) is refused, not guessed."""
    m = _TIME.match(value.strip())
    if not m:
        raise FieldError("Ange tid som ÅÅÅÅ-MM-DD TT:MM (svensk tid) eller med tidszon, t.ex. 2026-12-07T08:00+01:00.")
    year, month, day, hour, minute, second = (int(x or 0) for x in m.groups()[:6])
    if not YEARS[0] <= year <= YEARS[1]:
        raise FieldError(f"Året ska vara {YEARS[0]}–{YEARS[1]}.")
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise FieldError("Datumet eller klockslaget finns inte.")
    offset = m.group(7)
    if offset:
        if offset == "Z":
            return naive.replace(tzinfo=timezone.utc)
        sign = -1 if offset[0] == "-" else 1
        hh, mm = int(offset[1:3]), int(offset[-2:])
        if hh > 14 or mm > 59:
            raise FieldError("Tidszonen ska vara mellan -14:00 och +14:00.")
        return naive.replace(tzinfo=timezone(sign * timedelta(hours=hh, minutes=mm))).astimezone(timezone.utc)
    early, late = naive.replace(tzinfo=LOCAL, fold=0), naive.replace(tzinfo=LOCAL, fold=1)
    if early.utcoffset() != late.utcoffset():
        when = early.astimezone(timezone.utc).astimezone(LOCAL)
        if when.replace(tzinfo=None) != naive:
            raise FieldError(f"{naive:%Y-%m-%d %H:%M} finns inte i svensk tid (klockan ställs fram). "
                             "Ange tiden med tidszon.")
        raise FieldError(f"{naive:%Y-%m-%d %H:%M} inträffar två gånger i svensk tid (klockan ställs tillbaka). "
                         "Ange tidszon: +02:00 för den första, +01:00 för den andra.")
    return early.astimezone(timezone.utc)


def clock_list(value):
    """Medication times `08:00|20:00`."""
    times = tuple(t.strip() for t in value.split("|")) if value else ()
    if not times or not all(_CLOCK.match(t) for t in times):
        raise FieldError("Ange klockslag som TT:MM, flera åtskilda med |.")
    return times


def relatives(value):
    """`Namn, relation, telefon|Namn, relation, telefon`: the person card's relatives."""
    people = []
    for part in (p.strip() for p in value.split("|") if p.strip()):
        cells = [c.strip() for c in part.split(",")]
        if len(cells) != 3 or not cells[0]:
            raise FieldError("Ange anhöriga som Namn, relation, telefon — flera åtskilda med |.")
        people.append({"name": cells[0], "relation": cells[1] or None, "phone": cells[2] or None})
    return people


def nurse(value):
    """`Namn, telefon`: the responsible nurse."""
    if not value:
        return None
    cells = [c.strip() for c in value.split(",")]
    if len(cells) != 2 or not cells[0]:
        raise FieldError("Ange ansvarig sjuksköterska som Namn, telefon.")
    return {"name": cells[0], "phone": cells[1] or None}
