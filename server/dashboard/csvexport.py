"""CSV files that open correctly in Excel and LibreOffice set to Swedish: UTF-8 with BOM, `;`, local times.

Cells that start like a formula are prefixed with an apostrophe so a spreadsheet never evaluates them.
"""
import csv
import io
import re
import unicodedata

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

SOURCE_LABELS = {"device": "Mobil (enhet)", "self_registration": "Efterregistrering (medarbetare)",
                 "backfill": "Efterregistrering (administratör)"}
OUTCOME_LABELS = {"allowed": "tillåten", "denied": "nekad"}


def slug(text):
    """ASCII file-name part: 'Hemtjänst Norr' → 'hemtjanst-norr'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "enhet"


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _local(value, tz):
    return "" if value is None else value.astimezone(tz).isoformat(" ", "minutes")[:16]  # YYYY-MM-DD HH:MM


def _yes(flag):
    return "ja" if flag else "nej"


def _rows_to_csv(header, rows):
    """Yield the file in chunks (a big export never sits whole in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow([safe_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


REGISTRATION_HEADER = ["Besöks-id", "Datum", "Planerad start", "Planerad slut", "Brukare", "Medarbetare",
                       "Användarnamn", "Start", "Slut", "Minuter", "Källa", "Klockavvikelse", "Konflikt",
                       "Karantän"]


def registrations_csv(rows, tz):
    return _rows_to_csv(REGISTRATION_HEADER, (
        [r["visit_id"], _local(r["planned_start"], tz)[:10], _local(r["planned_start"], tz),
         _local(r["planned_end"], tz), r["client"], r["worker"], r["username"], _local(r["started_at"], tz),
         _local(r["ended_at"], tz), "" if r["minutes"] is None else r["minutes"], SOURCE_LABELS[r["source"]],
         _yes(r["clock_skew"]), _yes(r["conflict"]), _yes(r["quarantined"])] for r in rows))


ACCESS_LOG_HEADER = ["Tidpunkt", "Användare", "Användarnamn", "Brukare", "Personnummer", "Åtgärd", "Utfall",
                     "Enhet (mobil/webbläsare)", "Offline", "Vårdenhet", "Detalj"]


OTHER_UNIT = "annan enhet (id {id})"


def _person(entry, name_key):
    """A name from our own unit; another unit's person or client by id alone (access_review.access_log_rows)."""
    if not entry:
        return ""
    return OTHER_UNIT.format(id=entry["id"]) if entry["other_unit"] else entry[name_key]


def access_log_csv(rows, tz):
    return _rows_to_csv(ACCESS_LOG_HEADER, (
        [_local(r["at"], tz), _person(r["user"], "display_name"), (r["user"] or {}).get("username") or "",
         _person(r["client"], "name"), (r["client"] or {}).get("personal_number") or "",
         r["action"], OUTCOME_LABELS.get(r["outcome"], r["outcome"]), r["device_id"] or "", _yes(r["offline"]),
         r["unit"] or "", r["detail"] or ""] for r in rows))
