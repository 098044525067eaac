"""Rows → records: each kind's columns (required and optional) and the parsing of one row into the values the
import compares and stores. Only columns present in the source are managed: a missing optional column leaves
that field as it is stored. The people kinds are read whole; visits are read a chunk at a time."""
from dataclasses import dataclass, field

from . import fields as f
from .read import EXTRA_CELLS

# kind: {column: (parser, required)}; every column is documented in docs/import/README.md
COLUMNS = {
    "units": {"external_id": (f.identifier, True), "name": (f.required(f.text(120)), True)},
    "staff": {"external_id": (f.identifier, True), "unit": (f.identifier, True),
              "username": (f.required(f.text(64)), True), "name": (f.required(f.text(120)), True),
              "role": (f.role, True), "active": (f.yes_no(True), False)},
    "clients": {"external_id": (f.identifier, True), "unit": (f.identifier, True),
                "personal_number": (f.personal_number, True), "name": (f.required(f.text(120)), True),
                "address": (f.required(f.text(200)), True), "key_ref": (f.text(32), True),
                "key_note": (f.text(200), False), "phone": (f.text(32), False), "relatives": (f.relatives, False),
                "responsible_nurse": (f.nurse, False), "notes": (f.text(2000), False),
                "care_plan_summary": (f.text(4000), False)},
    "care_plans": {"client": (f.identifier, True), "intervention": (f.required(f.text(32)), True),
                   "planned_minutes": (f.minutes, True), "title": (f.text(120), False),
                   "description": (f.text(4000), False)},
    "medications": {"client": (f.identifier, True), "drug": (f.required(f.text(120)), True),
                    "dose": (f.required(f.text(120)), True), "times": (f.clock_list, True),
                    "note": (f.text(200), False)},
    "visits": {"external_id": (f.identifier, True), "client": (f.identifier, True), "start": (f.moment, True),
               "end": (f.moment, True), "staff": (f.id_list, True), "interventions": (f.id_list, False),
               "instructions": (f.text(2000), False), "cancelled": (f.yes_no(False), False)},
}
KIND_LABEL = {"units": "enhet", "staff": "personal", "clients": "brukare", "care_plans": "insats",
              "medications": "läkemedel", "visits": "besök"}


@dataclass
class Problem:
    """One error of an import: where (file, line, column) and what, in Swedish."""

    source: str
    line: int
    column: str
    message: str

    def __str__(self):
        where = f"{self.source} rad {self.line}" if self.line else self.source
        return f"{where}, kolumn {self.column}: {self.message}" if self.column else f"{where}: {self.message}"

    def as_dict(self):
        return {"file": self.source, "line": self.line, "column": self.column, "message": self.message}


@dataclass
class Record:
    """A parsed row: its key within its kind, the values of the columns it has, and where it came from."""

    kind: str
    key: object
    values: dict
    source: str
    line: int
    extra: dict = field(default_factory=dict)  # filled when references are resolved (ids of stored objects)
    position: int = 0  # a visit's: where it was read (VisitKeys)

    def problem(self, column, message):
        return Problem(self.source, self.line, column, message)


def header_problems(table):
    """Missing required columns and unknown ones (a typo must not silently leave a field unmanaged)."""
    spec = COLUMNS[table.kind]
    out = [Problem(table.source, 1, name, "Kolumnen saknas.") for name, (_, req) in spec.items()
           if req and name not in table.columns]
    out += [Problem(table.source, 1, name, f"Okänd kolumn; kända är {', '.join(spec)}.")
            for name in table.columns if name not in spec]
    return out


def parse(table, line, row, problems):
    """The Record of one row (None if a cell is wrong; its problems are appended)."""
    spec = COLUMNS[table.kind]
    if EXTRA_CELLS in row:
        problems.append(Problem(table.source, line, "", f"Raden har {row[EXTRA_CELLS]} celler men rubriken "
                                                        f"bara {len(table.columns)}."))
        return None
    try:  # the common case, every cell right: no bookkeeping per cell
        values = {name: parser(row[name]) for name, (parser, _) in spec.items() if name in row}
    except f.FieldError:
        values = None
    if values is None or len(values) < len(spec) and any(req and name not in row for name, (_, req) in spec.items()):
        for name, (parser, req) in spec.items():
            if name not in row:  # a JSON row names only its own keys; a CSV row has every column of its header
                if req:
                    problems.append(Problem(table.source, line, name, "Saknas."))
                continue
            try:
                parser(row[name])
            except f.FieldError as exc:
                problems.append(Problem(table.source, line, name, str(exc)))
        return None
    if table.kind == "visits" and values["end"] <= values["start"]:
        problems.append(Problem(table.source, line, "end", "Sluttiden måste vara efter starttiden."))
        return None
    if table.kind == "visits" and not values["staff"] and not values.get("cancelled"):
        problems.append(Problem(table.source, line, "staff", "Ett besök behöver minst en ur personalen."))
        return None
    key = ((values["client"], values["intervention"]) if table.kind == "care_plans"
           else values["client"] if table.kind == "medications" else values["external_id"])
    return Record(table.kind, key, values, table.source, line)


def read_records(tables, problems):
    """The records of the people kinds (every kind but visits) by kind; a key twice in one kind is an error naming
    both places. Medications are the one kind with many rows per key (a client's list): they are gathered into
    one record per client."""
    by_kind = {kind: {} for kind in COLUMNS if kind != "visits"}
    for table in tables:
        header = header_problems(table)
        problems.extend(header)
        if header:
            continue
        for line, row in table.rows:
            record = parse(table, line, row, problems)
            if record is None:
                continue
            records = by_kind[table.kind]
            if table.kind == "medications":
                entry = {"name": record.values["drug"], "dose": record.values["dose"],
                         "times": list(record.values["times"]), "note": record.values.get("note")}
                if record.key in records:
                    records[record.key].values["list"].append(entry)
                    continue
                record.values = {"client": record.key, "list": [entry]}
            elif record.key in records:
                first = records[record.key]
                column = "client" if table.kind == "care_plans" else "external_id"
                problems.append(record.problem(column, f"Samma {KIND_LABEL[table.kind]} finns redan på "
                                                       f"{first.source} rad {first.line}."))
                continue
            records[record.key] = record
    return by_kind


class VisitKeys:
    """Every visit id of an import with where it was first read, packed in one int (the table's number and the
    line): a duplicate names both places, and the double-booking check knows which stored visits the import
    replaces. About a hundred bytes a visit: the one thing kept for every row of a schedule."""

    def __init__(self):
        self.first, self.sources = {}, []

    def __contains__(self, key):
        return key in self.first

    def where(self, position):
        return self.sources[position >> 32], position & 0xFFFFFFFF


def visit_chunks(tables, problems, keys, size):
    """The visit tables' records in lists of `size`, read as they are used, each with its `position` (see
    VisitKeys). A duplicate id is a problem naming the first place."""
    chunk = []
    for table in tables:
        header = header_problems(table)
        problems.extend(header)
        if header:
            continue
        number = len(keys.sources) << 32
        keys.sources.append(table.source)
        for line, row in table.rows:
            record = parse(table, line, row, problems)
            if record is None:
                continue
            first = keys.first.setdefault(record.key, number | line)
            if first != number | line:
                source, first_line = keys.where(first)
                problems.append(record.problem("external_id", f"Samma {KIND_LABEL['visits']} finns redan på "
                                                              f"{source} rad {first_line}."))
                continue
            record.position = first
            chunk.append(record)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
