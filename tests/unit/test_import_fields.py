"""The import's cell parsers and its documentation: personal numbers, Swedish local times across DST, and
templates that name exactly the columns the import reads."""
from datetime import datetime, timezone
from pathlib import Path

import pytest

from server.importer import fields as f
from server.importer.read import csv_table, kind_of
from server.importer.rows import COLUMNS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "import"


@pytest.mark.parametrize("text, stored", [("18020202-0202", "18020202-0202"), ("180202020202", "18020202-0202"),
                                          ("18450165-3218", "18450165-3218")])  # the last: a samordningsnummer
def test_valid_personal_numbers_are_stored_with_a_dash(text, stored):
    assert f.personal_number(text) == stored


@pytest.mark.parametrize("text, message", [
    ("18020202-0203", "Fel kontrollsiffra: 3, ska vara 2."),
    ("18020230-0202", "Datumet i personnumret finns inte (18020230)."),
    ("18450192-3218", "Datumet i samordningsnumret finns inte (18450192)."),
    ("020202-0202", "Ange personnummer som ÅÅÅÅMMDD-NNNN (tolv siffror)."),
    ("１８０２０２０２-０２０２", "Ange personnummer som ÅÅÅÅMMDD-NNNN (tolv siffror)."),  # Unicode digits
])
def test_wrong_personal_numbers_say_what_is_wrong(text, message):
    with pytest.raises(f.FieldError, match=message.replace("(", r"\(").replace(")", r"\)")):
        f.personal_number(text)


def test_local_times_follow_stockholm_summer_and_winter_time():
    assert f.moment("2026-07-01 08:00") == datetime(2026, 7, 1, 6, 0, tzinfo=timezone.utc)
    assert f.moment("2026-12-01 08:00") == datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)
    assert f.moment("2026-03-29 03:00") == datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)  # just after the jump
    assert f.moment("2026-10-25T02:30+02:00") == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)
    assert f.moment("2026-10-25T02:30+01:00") == datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)
    assert f.moment("2026-10-25T01:30Z") == datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["2026-03-29 02:00", "2026-03-29 02:59", "2026-10-25 02:00", "2026-10-25 02:59",
                                  "1999-12-31 23:00", "2026-02-30 08:00", "2026-12-01T08:00+15:00", "igår"])
def test_impossible_ambiguous_or_implausible_times_are_refused(text):
    with pytest.raises(f.FieldError):
        f.moment(text)


def test_each_template_names_exactly_the_columns_the_import_reads():
    for kind, spec in COLUMNS.items():
        header = (DOCS / "templates" / f"{kind}.csv").read_text(encoding="utf-8").strip().split(";")
        assert header == list(spec), kind
        readme = (DOCS / "README.md").read_text(encoding="utf-8")
        assert all(f"`{column}`" in readme for column in spec), kind


def test_the_kind_is_read_from_the_file_name_and_the_separator_from_the_header():
    assert kind_of("2026-12-07_visits.csv") == "visits" and kind_of("Besök.csv") is None
    table = csv_table("units.csv", "\ufeffexternal_id,name\nA,\"Hemtjänst, Öster\"\n".encode())
    assert list(table.rows) == [(2, {"external_id": "A", "name": "Hemtjänst, Öster"})]
    table = csv_table("units.csv", "external_id;name\n\nA;Öster\n".encode())
    assert list(table.rows) == [(3, {"external_id": "A", "name": "Öster"})]  # the line as an editor shows it


def test_spreadsheet_cells_become_the_text_people_typed():
    from datetime import time
    from server.importer.read import cell_text
    assert [cell_text(v) for v in (None, 20.0, 185003141230, datetime(2026, 12, 8, 8, 0), time(8, 0), " x ")] == \
        ["", "20", "185003141230", "2026-12-08 08:00", "08:00", "x"]
