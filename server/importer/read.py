"""Reading an import: CSV files (UTF-8 with or without BOM, `;` or `,`), .xlsx workbooks (one sheet per kind)
and JSON bodies (rows per kind), all turned into the same tables of text cells with their file and line."""
import codecs
import csv
import io
import os
from contextlib import contextmanager
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


BOM = b"\xef\xbb\xbf"  # Excel's "CSV UTF-8" starts with one; others do not
BLOCK = 1 << 16  # bytes read at a time: a big file is never all in memory


def _check_utf8(source, fh):
    """Refuse a file that is not UTF-8 before any of its rows is used, naming the first bad byte (the BOM not
    counted); read a block at a time."""
    pending, offset = fh.read(BLOCK), 0
    if pending.startswith(BOM):
        pending = pending[len(BOM):]
    while True:
        block = fh.read(BLOCK)
        data = pending + block
        try:
            _, used = codecs.utf_8_decode(data, "strict", not block)
        except UnicodeDecodeError as exc:
            raise ReadError(source, f"Filen är inte UTF-8 (byte {offset + exc.start + 1}). Spara som \"CSV UTF-8\".")
        if not block:
            return
        pending, offset = data[used:], offset + used


@contextmanager
def _text(opener):
    """The file as text from its start (BOM skipped), lines as CSV wants them; a file we were given stays open."""
    with opener() as fh:
        fh.seek(0)
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        try:
            yield text
        finally:
            text.detach()


def csv_table(source, opener):
    """A CSV file's table, read as its rows are used; `opener()` gives the file (binary, seekable) in a with
    block — or `opener` is the file's bytes. The delimiter is the one of `;` and `,` the header line has more of."""
    if isinstance(opener, bytes):
        data = opener
        opener = lambda: io.BytesIO(data)  # noqa: E731
    kind = kind_of(source)
    with opener() as fh:
        fh.seek(0)
        _check_utf8(source, fh)
    with _text(opener) as text:
        first = text.readline().rstrip("\r\n")
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    try:
        columns = _header(source, next(csv.reader([first], delimiter=delimiter), []))
    except csv.Error as exc:
        raise ReadError(source, f"Rad 1 kan inte läsas: {exc}.")

    def rows():
        with _text(opener) as text:
            reader = csv.reader(text, delimiter=delimiter)
            line = 1
            try:
                next(reader, None)  # the header
                line = reader.line_num + 1
                width = len(columns)
                for cells in reader:
                    stripped = [c.strip() for c in cells]  # a CSV row's cells are text already
                    if any(stripped):
                        yield line, dict(zip(columns, stripped)) if len(cells) == width else _row(columns, cells)
                    line = reader.line_num + 1
            except csv.Error as exc:
                raise ReadError(source, f"Rad {line} kan inte läsas: {exc}.")
            except UnicodeDecodeError:  # the file changed since it was checked
                raise ReadError(source, "Filen är inte UTF-8. Spara som \"CSV UTF-8\".")

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


def file_tables(name, opener):
    """The tables of one uploaded or read file, by its suffix and name; `opener()` gives the file (binary,
    seekable) in a with block, each time from its start, so the rows can be read again."""
    lower = name.lower()
    if lower.endswith(".xlsx"):
        with opener() as fh:
            fh.seek(0)
            return xlsx_tables(name, fh.read())  # compressed: a workbook's bytes are small beside its rows
    if not lower.endswith(".csv"):
        raise ReadError(name, "Bara .csv och .xlsx kan importeras.")
    if kind_of(name) is None:
        raise ReadError(name, f"Filnamnet säger inte vilket slag raderna är; det ska sluta på "
                              f"{', '.join(k + '.csv' for k in KINDS)}.")
    return [csv_table(name, opener)]


def path_tables(paths):
    """Files and folders (their .csv and .xlsx files, sorted) from the command line; a file is opened when its
    rows are read."""
    tables = []
    for path in paths:
        names = ([os.path.join(path, n) for n in sorted(os.listdir(path)) if n.lower().endswith(SUFFIXES)]
                 if os.path.isdir(path) else [path])
        for name in names:
            tables.extend(file_tables(name, lambda name=name: _open(name)))
    return tables


def _open(name):
    try:
        return open(name, "rb")
    except OSError as exc:
        raise ReadError(name, f"Filen kan inte läsas ({exc.strerror}).")


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
