"""`flask import PATH… [--dry-run]`: files or a folder, progress on the command line, exit code 1 on errors."""
import shutil
from pathlib import Path

from sqlalchemy import func, select

from server.extensions import db
from server.models import Client, Visit

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import" / "example"


def visit_count(app):
    """The example set's visits (V-9…; the demo's own came through an import too)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Visit).where(Visit.external_id.like("V-9%")))


def test_a_dry_run_of_a_folder_shows_the_diff_and_writes_nothing(app, runner):
    result = runner.invoke(args=["import", str(EXAMPLE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "visits             4 nya       0 ändrade" in result.stdout
    assert "Läst: 1 units, 3 staff, 3 clients, 5 care_plans, 2 medications." in result.stderr  # visits: streamed
    assert "Torrkörning: inget har skrivits." in result.stdout
    assert visit_count(app) == 0


def test_files_are_imported_and_a_second_run_changes_nothing(app, runner):
    files = [str(p) for p in sorted(EXAMPLE.glob("*.csv"))]
    assert runner.invoke(args=["import", *files]).exit_code == 0
    assert visit_count(app) == 4
    again = runner.invoke(args=["import", *files])
    assert again.exit_code == 0 and "visits             0 nya       0 ändrade       4 oförändrade" in again.stdout


def test_an_error_exits_non_zero_names_the_place_and_writes_nothing(app, runner, tmp_path):
    folder = tmp_path / "set"
    shutil.copytree(EXAMPLE, folder)
    text = (folder / "clients.csv").read_text().replace("18671102-4569", "18671102-4560")
    (folder / "clients.csv").write_text(text)
    result = runner.invoke(args=["import", str(folder)])
    assert result.exit_code == 1
    assert (f"FEL {folder}/clients.csv rad 3, kolumn personal_number: Fel kontrollsiffra: 0, ska vara 9."
            in result.stderr)
    assert "1 fel; inget har ändrats." in result.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)
                                 .where(Client.external_id.like("B-5%"))) == 0
    assert visit_count(app) == 0


def test_a_file_of_no_known_kind_is_refused(app, runner, tmp_path):
    odd = tmp_path / "people.csv"
    odd.write_text("a;b\n1;2\n")
    result = runner.invoke(args=["import", str(odd)])
    assert result.exit_code == 1 and "Filnamnet säger inte vilket slag raderna är" in result.stderr


def test_a_token_for_several_units_is_made_and_revoked_on_the_command_line(app, runner):
    made = runner.invoke(args=["integration-token", "create", "TES", "--unit", "NORR", "--unit", "SODER"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("hvi_") and "Hemtjänst Norr, Hemtjänst Söder" in made.stdout
    client = app.test_client()
    body = {"dry_run": True, "clients": [
        {"external_id": f"B-{code}", "unit": code, "personal_number": "18500314-1230", "name": "Fiktiv",
         "address": "Gata 1", "key_ref": ""} for code in ("NORR", "SODER")]}
    r = client.post("/api/integration/import", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.json["diff"]["clients"]["created"] == 2
    assert runner.invoke(args=["integration-token", "revoke", "1"]).exit_code == 0
    r = client.post("/api/integration/import", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401
    assert runner.invoke(args=["integration-token", "create", "X", "--unit", "NOPE"]).exit_code != 0
