"""The import library on real SQLite and PostgreSQL: the example set in, twice; every error class named by file,
line and column in Swedish with nothing applied; dry run and apply agree; moves and cancellations."""
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.importer import run_import
from server.importer.models import AuditEntry
from server.importer.read import path_tables
from server.models import CarePlanIntervention, Client, Unit, User, Visit, visit_interventions, visit_workers

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import" / "example"
TABLES = (Unit, User, Client, CarePlanIntervention, Visit)


def snapshot():
    """Every row the import writes, by table, without the moments that only say when a row was written."""
    out = {}
    for model in TABLES:
        rows = db.session.execute(select(model.__table__)).mappings().all()
        out[model.__tablename__] = sorted(({k: v for k, v in r.items() if k != "updated_at"} for r in rows),
                                          key=lambda r: r["id"])
    for table in (visit_workers, visit_interventions):
        out[table.name] = sorted(tuple(r) for r in db.session.execute(select(table)))
    return out


def example(tmp_path, **files):
    """A copy of docs/import/example with some files replaced (name without .csv → text)."""
    folder = tmp_path / "set"
    shutil.copytree(EXAMPLE, folder)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def run(folder, apply=True, scope=None):
    outcome = run_import(lambda: path_tables([str(folder)]), apply=apply, scope=scope, actor={"name": "test"})
    if outcome.ok:
        db.session.commit()
    else:
        db.session.rollback()  # as every door does: an apply writes as it goes and stops at the first problem
    return outcome


def messages(outcome):
    return [str(p) for p in outcome.problems]


def counts(outcome, kind):
    return {k: v for k, v in outcome.diff[kind].items() if k != "items"}


def test_importing_the_example_twice_gives_the_same_database_and_nothing_changed(app, tmp_path):
    with app.app_context():
        first = run(EXAMPLE)
        assert first.ok, messages(first)
        assert counts(first, "visits") == {"created": 4, "changed": 0, "unchanged": 0, "cancelled": 0}
        assert counts(first, "care_plans")["created"] == 5
        after_first = snapshot()
        second = run(EXAMPLE)
        assert second.ok and snapshot() == after_first
        for kind, c in second.diff.items():
            assert c["created"] == c["changed"] == c["cancelled"] == 0 and c["items"] == [], kind
        assert "0 ändrade" in second.as_dict()["summary"]
        visit = db.session.scalar(select(Visit).where(Visit.external_id == "V-9002"))
        assert sorted(w.username for w in visit.workers) == ["anna.ost", "bo.ost"]
        assert [i.code for i in visit.interventions] == ["DUSCH"] and visit.revision == 0
        created = db.session.scalar(select(AuditEntry).where(AuditEntry.external_id == "V-9002"))
        assert (created.action, created.entity_id, created.unit_id) == ("created", visit.id, visit.unit_id)
        assert created.after["staff"] == ["P-1001", "P-1002"]
        assert visit.planned_start == datetime(2026, 12, 8, 8, 0, tzinfo=timezone.utc)  # 09:00 Stockholm (CET)
        client = db.session.scalar(select(Client).where(Client.external_id == "B-502"))
        assert client.person_card["relatives"][1] == {"name": "Greta Granne", "relation": "granne",
                                                      "phone": "070-111 66 77"}
        assert db.session.scalar(select(Client.personal_number).where(Client.external_id == "B-503")) == \
            "18450165-3218"  # a samordningsnummer (day + 60) is a valid number


def test_a_dry_run_writes_nothing_and_shows_the_diff_the_apply_then_makes(app):
    with app.app_context():
        before = snapshot()
        dry = run(EXAMPLE, apply=False)
        assert dry.ok and not dry.applied and snapshot() == before
        applied = run(EXAMPLE)
        assert applied.applied and applied.diff == dry.diff


def test_every_change_is_in_the_audit_trail_with_before_and_after(app, tmp_path):
    with app.app_context():
        run(EXAMPLE)
        moved = example(tmp_path, visits=(EXAMPLE / "visits.csv").read_text().replace(
            "V-9001;B-501;2026-12-08 08:00;2026-12-08 08:30", "V-9001;B-501;2026-12-08 08:15;2026-12-08 08:45"))
        run(moved)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.external_id == "V-9001",
                                                           AuditEntry.action == "changed"))
        assert entry.actor == "test" and entry.before["start"] == "2026-12-08T08:00:00+01:00"
        assert entry.after["start"] == "2026-12-08T08:15:00+01:00"


def test_a_moved_restaffed_and_a_cancelled_visit_are_counted_and_kept(app, tmp_path):
    with app.app_context():
        run(EXAMPLE)
        text = (EXAMPLE / "visits.csv").read_text()
        text = text.replace("2026-12-08 19:00;2026-12-08 19:20;P-1002", "2026-12-08 19:30;2026-12-08 19:50;P-1001")
        text = text.replace("V-9003;B-503;2026-12-08T10:00:00+01:00;2026-12-08T10:40:00+01:00;P-1002;INKOP;;nej",
                            "V-9003;B-503;2026-12-08T10:00:00+01:00;2026-12-08T10:40:00+01:00;P-1002;INKOP;;ja")
        outcome = run(example(tmp_path, visits=text))
        assert outcome.ok, messages(outcome)
        assert counts(outcome, "visits") == {"created": 0, "changed": 1, "unchanged": 2, "cancelled": 1}
        items = {i["key"]: i for i in outcome.diff["visits"]["items"]}
        assert items["V-9004"]["changes"]["staff"] == {"before": ["P-1002"], "after": ["P-1001"]}
        cancelled = db.session.scalar(select(Visit).where(Visit.external_id == "V-9003"))
        assert cancelled.cancelled and cancelled.revision == 1  # kept, never deleted


@pytest.mark.parametrize("name, text, expected", [
    ("clients", "external_id,unit,personal_number,name,address,key_ref\n"
                "B-501,ENH-OST,18500314-1230,A,Gata 1,K1\nB-502,ENH-OST,18671102-4561,B,Gata 2,K2\n",
     "{dir}/clients.csv rad 3, kolumn personal_number: Fel kontrollsiffra: 1, ska vara 9."),
    ("clients", "external_id,unit,personal_number,name,address,key_ref\nB-501,ENH-OST,18450192-3218,A,Gata 1,K1\n",
     "{dir}/clients.csv rad 2, kolumn personal_number: Datumet i samordningsnumret finns inte (18450192)."),
    ("visits", "external_id;client;start;end;staff\nV-1;B-501;2026-03-29 02:30;2026-03-29 03:30;P-1001\n",
     "{dir}/visits.csv rad 2, kolumn start: 2026-03-29 02:30 finns inte i svensk tid (klockan ställs fram). "
     "Ange tiden med tidszon."),
    ("visits", "external_id;client;start;end;staff\nV-1;B-501;2026-10-25 01:30;2026-10-25 02:30;P-1001\n",
     "{dir}/visits.csv rad 2, kolumn end: 2026-10-25 02:30 inträffar två gånger i svensk tid "
     "(klockan ställs tillbaka). "
     "Ange tidszon: +02:00 för den första, +01:00 för den andra."),
    ("visits", "external_id;client;start;end;staff\nV-1;B-501;2026-12-08 10:00;2026-12-08 09:00;P-1001\n",
     "{dir}/visits.csv rad 2, kolumn end: Sluttiden måste vara efter starttiden."),
    ("visits", "external_id;client;start;end;staff\nV-1;B-999;2026-12-08 10:00;2026-12-08 11:00;P-1001\n",
     "{dir}/visits.csv rad 2, kolumn client: Okänd brukare 'B-999': finns varken i importen eller bland dina "
     "enheters brukare."),
    ("visits", "external_id;client;start;end;staff\nV-1;B-501;2026-12-08 10:00;2026-12-08 11:00;P-7777\n",
     "{dir}/visits.csv rad 2, kolumn staff: Okänd personal 'P-7777': finns varken i importen eller bland dina "
     "enheters personal."),
    ("staff", "external_id;unit;username;name;role\nP-1001;ENH-VAST;anna;Anna;worker\n",
     "{dir}/staff.csv rad 2, kolumn unit: Okänd enhet 'ENH-VAST': finns varken i importen eller bland "
     "sparade enheter."),
    ("visits", "external_id;client;start;end;staff\nV-1;B-501;2026-12-08 10:00;2026-12-08 11:00;P-1001\n"
               "V-1;B-502;2026-12-08 12:00;2026-12-08 13:00;P-1001\n",
     "{dir}/visits.csv rad 3, kolumn external_id: Samma besök finns redan på {dir}/visits.csv rad 2."),
    ("visits", "external_id;client;start;end;staff\nV-1;B-501;2026-12-08 10:00;2026-12-08 11:00;P-1001\n"
               "V-2;B-502;2026-12-08 10:30;2026-12-08 11:30;P-1002|P-1001\n",
     "{dir}/visits.csv rad 3, kolumn staff: P-1001 är dubbelbokad: krockar med {dir}/visits.csv rad 2."),
    ("visits", "external_id;client;start;end;staff;interventions\n"
               "V-1;B-501;2026-12-08 10:00;2026-12-08 11:00;P-1001;DUSCH\n",
     "{dir}/visits.csv rad 2, kolumn interventions: DUSCH finns inte i brukarens genomförandeplan."),
    ("visits", "external_id;client;start;end\nV-1;B-501;2026-12-08 10:00;2026-12-08 11:00\n",
     "{dir}/visits.csv rad 1, kolumn staff: Kolumnen saknas."),
])
def test_each_error_is_named_by_file_line_and_column_and_nothing_is_applied(app, tmp_path, name, text, expected):
    with app.app_context():
        folder = example(tmp_path, **{name: text})
        before = snapshot()
        outcome = run(folder)
        assert expected.replace("{dir}", str(folder)) in messages(outcome), messages(outcome)
        assert not outcome.applied and snapshot() == before


def test_a_worker_double_booked_against_a_stored_visit_is_refused(app, tmp_path):
    with app.app_context():
        run(EXAMPLE)
        extra = "external_id;client;start;end;staff\nV-9100;B-502;2026-12-08 08:10;2026-12-08 08:40;P-1001\n"
        folder = tmp_path / "more"
        folder.mkdir()
        (folder / "visits.csv").write_text(extra)
        before = snapshot()
        outcome = run(folder)
        assert messages(outcome) == [f"{folder}/visits.csv rad 2, kolumn staff: P-1001 är dubbelbokad: "
                                     "krockar med besök V-9001."]
        assert snapshot() == before


def test_csv_with_comma_or_semicolon_with_or_without_bom_and_xlsx_read_the_same(app, tmp_path):
    from openpyxl import Workbook
    book = Workbook()
    book.remove(book.active)
    for kind in ("units", "staff", "visits"):
        sheet = book.create_sheet(kind)
        path = EXAMPLE / f"{kind}.csv"
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        for line in lines:
            sheet.append(line.split(";"))
    visits = book["visits"]
    visits["C2"].value = datetime(2026, 12, 8, 8, 0)  # a real date cell: local time, as typed
    visits["D2"].value = datetime(2026, 12, 8, 8, 30)
    book.save(tmp_path / "set.xlsx")
    with app.app_context():
        assert run(EXAMPLE).ok
        (tmp_path / "rest").mkdir()
        for kind in ("clients", "care_plans", "medications"):
            shutil.copy(EXAMPLE / f"{kind}.csv", tmp_path / "rest")
        outcome = run_import(lambda: path_tables([str(tmp_path / "set.xlsx"), str(tmp_path / "rest")]), apply=True,
                             actor={"name": "test"})
        assert outcome.ok, messages(outcome)
        assert all(c["unchanged"] and not (c["created"] or c["changed"]) for c in outcome.diff.values())
        assert (EXAMPLE / "units.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # the set covers BOM and `;`
        assert "," in (EXAMPLE / "clients.csv").read_text().splitlines()[0]  # … and `,`


def test_an_administrator_cannot_import_into_another_unit(app, tmp_path):
    with app.app_context():
        north = db.session.scalar(select(Unit).where(Unit.code == "NORR"))
        before = snapshot()
        outcome = run(EXAMPLE, scope={north.id})
        assert f"{EXAMPLE}/units.csv rad 2, kolumn external_id: Nya enheter kan bara skapas av " \
               "systemförvaltningen (flask import)." in messages(outcome)
        assert snapshot() == before
        folder = tmp_path / "south"
        folder.mkdir()
        (folder / "clients.csv").write_text("external_id;unit;personal_number;name;address;key_ref\n"
                                            "B-1;SODER;18500314-1230;A;Gata 1;K1\n")
        assert messages(run(folder, scope={north.id})) == [
            f"{folder}/clients.csv rad 2, kolumn unit: Enheten 'SODER' är inte en av dina enheter."]
        assert db.session.scalar(select(func.count()).select_from(Client).where(Client.external_id == "B-1")) == 0


def test_units_and_staff_stored_before_imports_are_adopted_by_code_and_username(app, tmp_path):
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "worker1")).external_id = None  # as before imports
        db.session.commit()
        folder = tmp_path / "adopt"
        folder.mkdir()
        (folder / "staff.csv").write_text("external_id;unit;username;name;role\nP-1;NORR;worker1;Ny Namn;worker\n")
        outcome = run(folder)
        assert outcome.ok, messages(outcome)
        assert counts(outcome, "staff") == {"created": 0, "changed": 1, "unchanged": 0, "cancelled": 0}
        user = db.session.scalar(select(User).where(User.username == "worker1"))
        assert user.external_id == "P-1" and user.display_name == "Ny Namn"
        assert counts(run(folder), "staff")["unchanged"] == 1


def test_a_new_units_id_that_is_another_units_code_is_refused(app, tmp_path):
    with app.app_context():
        db.session.scalar(select(Unit).where(Unit.code == "SODER")).external_id = "ENH-SYD"
        db.session.commit()
        folder = tmp_path / "units"
        folder.mkdir()
        (folder / "units.csv").write_text("external_id;name\nSODER;Nya Söder\n")
        assert messages(run(folder)) == [f"{folder}/units.csv rad 2, kolumn external_id: Koden 'SODER' används "
                                         "redan av en annan enhet."]
