"""Reading an import: CSV files (UTF-8 with or without BOM, `;` or `,`), .xlsx workbooks (one sheet per kind)
and JSON bodies (rows per kind), all turned into the same tables of text cells with their file and line."""
import csv
import io
import os
from dataclasses import dataclass
from datetime import date, datetime, time

KINDS = ("units", "staff", "clients", "care_plans", "medications", "visits")  # also the order they are applied in
SUFFIXES = (".csv", ".xlsx")
EXTRA_CELLS = "\0extra"  # a row with more cells than the header: not a column name anyone can write


@dataclass
class Table:
    """One kind's rows from one source: `rows` yields (line, {column: text}) with the line as people see it."""

    kind: str
    source: str
    columns: list
    rows: object


class ReadError(Exception):
    """A file that cannot be read at all (its name, encoding or layout); the message is Swedish."""

    def __init__(self, source, message):
        super().__init__(f"{source}: {message}")
        self.source, self.message = source, message


def kind_of(name):
    """The kind a file or sheet is for, by its name: `visits.csv`, `2026-12-07_visits.csv`, sheet `visits`."""
    stem = os.path.splitext(os.path.basename(name))[0].strip().lower()
    for kind in KINDS:
        if stem == kind or stem.endswith("_" + kind) or stem.endswith("-" + kind):
            return kind
    return None


def cell_text(value):
    """A cell as text; spreadsheet dates and times become ISO text (local time, as they were typed)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, time):  # a time-of-day cell (medication times): 08:00, as typed
        return value.isoformat(timespec="minutes" if not value.second else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _header(source, cells):
    columns = [cell_text(c).lower() for c in cells]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise ReadError(source, "Första raden ska ha kolumnnamnen, men den är tom.")
    seen = set()
    for i, name in enumerate(columns, start=1):
        if not name:
            raise ReadError(source, f"Kolumn {i} på första raden saknar namn.")
        if name in seen:
            raise ReadError(source, f"Kolumnen {name} finns två gånger på första raden.")
        seen.add(name)
    return columns


def _csv_text(source, data):
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM; others do not
    except UnicodeDecodeError as exc:
        raise ReadError(source, f"Filen är inte UTF-8 (byte {exc.start + 1}). Spara som \"CSV UTF-8\".")


def csv_table(source, data):
    """A CSV file's table; the delimiter is the one of `;` and `,` the header line has more of."""
    kind = kind_of(source)
    text = _csv_text(source, data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = _header(source, next(reader, []))
    except csv.Error as exc:
        raise ReadError(source, f"Rad 1 kan inte läsas: {exc}.")

    def rows():
        line = reader.line_num + 1
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield line, _row(columns, cells)
                line = reader.line_num + 1
        except csv.Error as exc:
            raise ReadError(source, f"Rad {line} kan inte läsas: {exc}.")

    return Table(kind, source, columns, rows())


def _row(columns, cells):
    row = {name: cell_text(cells[i]) if i < len(cells) else "" for i, name in enumerate(columns)}
    if len(cells) > len(columns) and any(cell_text(c) for c in cells[len(columns):]):
        row[EXTRA_CELLS] = str(len(cells))  # more cells than the header names: checked as an error
    return row


def xlsx_tables(source, data):
    """One table per sheet named after a kind; streamed (read-only mode), so a big workbook is not all in memory."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from zipfile import BadZipFile
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError) as exc:
        raise ReadError(source, f"Arbetsboken kan inte öppnas ({type(exc).__name__}). Spara som .xlsx.")
    tables = []
    for sheet in book.worksheets:
        kind = kind_of(sheet.title)
        if kind is None:
            raise ReadError(source, f"Bladet \"{sheet.title}\" hör inte till något slag; bladen ska heta "
                                    f"{', '.join(KINDS)}.")
        rows = sheet.iter_rows(values_only=True)
        columns = _header(f"{source} [{sheet.title}]", next(rows, []))

        def table_rows(rows=rows, columns=columns):
            for line, cells in enumerate(rows, start=2):
                if any(cell_text(c) for c in cells):
                    yield line, _row(columns, cells)

        tables.append(Table(kind, f"{source} [{sheet.title}]", columns, table_rows()))
    return tables


def file_tables(name, data):
    """The tables of one uploaded or read file, by its suffix and name."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return xlsx_tables(name, data)
    if not lower.endswith(".csv"):
        raise ReadError(name, "Bara .csv och .xlsx kan importeras.")
    if kind_of(name) is None:
        raise ReadError(name, f"Filnamnet säger inte vilket slag raderna är; det ska sluta på "
                              f"{', '.join(k + '.csv' for k in KINDS)}.")
    return [csv_table(name, data)]


def path_tables(paths):
    """Files and folders (their .csv and .xlsx files, sorted) from the command line."""
    tables = []
    for path in paths:
        names = ([os.path.join(path, n) for n in sorted(os.listdir(path)) if n.lower().endswith(SUFFIXES)]
                 if os.path.isdir(path) else [path])
        for name in names:
            try:
                with open(name, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise ReadError(name, f"Filen kan inte läsas ({exc.strerror}).")
            tables.extend(file_tables(name, data))
    return tables


def json_tables(body):
    """The integration API's body: {"units": [{…}, …], "visits": […], …}; a row's line is its place in its list."""
    tables = []
    for kind in KINDS:
        rows = body.get(kind)
        if rows is None or rows == []:
            continue
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ReadError(kind, "Ska vara en lista med objekt (en rad per objekt).")
        columns = sorted({str(k).lower() for r in rows for k in r})
        tables.append(Table(kind, kind, columns, (
            (i, {str(k).lower(): _json_cell(v) for k, v in r.items()}) for i, r in enumerate(rows, start=1))))
    unknown = sorted(set(body) - set(KINDS) - {"dry_run"})
    if unknown:
        raise ReadError(unknown[0], f"Okänt slag; använd {', '.join(KINDS)}.")
    return tables


def _json_cell(value):
    if isinstance(value, list):  # staff, interventions, times: a list is the same as "a|b|c"
        return "|".join(_json_cell(v) for v in value)
    if isinstance(value, bool):
        return "ja" if value else "nej"
    return cell_text(value)
