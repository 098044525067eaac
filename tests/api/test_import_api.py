"""The import's HTTP doors: the planning system's POST /api/integration/import with an integration token, and
the administrator's upload; the tokens an administrator creates and revokes; unit scoping of both."""
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.importer.models import AuditEntry, IntegrationToken
from server.models import AccessLog, Client, Unit, Visit

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import" / "example"
PNR = "18500314-1230"
ROWS = {  # Hemtjänst Norr's own data, as a planning system sends it (the demo unit's code is its external id)
    "staff": [{"external_id": "P-1", "unit": "NORR", "username": "p1.norr", "name": "Pia Ett", "role": "worker"}],
    "clients": [{"external_id": "B-1", "unit": "NORR", "personal_number": PNR, "name": "Fiktiv Ett",
                 "address": "Norrgatan 1", "key_ref": "N-99"}],
    "care_plans": [{"client": "B-1", "intervention": "TILLSYN", "planned_minutes": 10}],
    "medications": [{"client": "B-1", "drug": "Alvedon", "dose": "500 mg", "times": ["08:00", "20:00"]}],
    "visits": [{"external_id": "V-1", "client": "B-1", "start": "2026-12-08T08:00:00+01:00",
                "end": "2026-12-08T08:30:00+01:00", "staff": ["P-1"], "interventions": ["TILLSYN"]}],
}


@pytest.fixture
def token(admin):
    created = admin.post("/api/admin/integration-tokens", json={"name": "TES planering"})
    assert created.status_code == 201, created.json
    return created.json


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def integration(client, secret, body):
    return client.post("/api/integration/import", json=body, headers=bearer(secret))


def test_an_administrator_creates_a_token_shown_once_and_stored_only_hashed(app, admin, token):
    assert token["token"].startswith("hvi_") and token["units"] == ["Hemtjänst Norr"]
    listed = admin.get("/api/admin/integration-tokens").json["tokens"]
    assert [t["id"] for t in listed] == [token["id"]] and "token" not in listed[0]
    with app.app_context():
        stored = db.session.get(IntegrationToken, token["id"])
        assert token["token"] not in {stored.secret_hash, stored.hint, stored.name}
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "token")) == 1


def test_the_planning_system_imports_a_dry_run_then_the_same_diff_then_nothing_changed(app, client, token):
    dry = integration(client, token["token"], dict(ROWS, dry_run=True))
    assert dry.status_code == 200, dry.json
    assert dry.json["applied"] is False and dry.json["diff"]["visits"]["created"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.external_id == "V-1")) == 0
    applied = integration(client, token["token"], ROWS)
    assert applied.status_code == 200 and applied.json["applied"] and applied.json["diff"] == dry.json["diff"]
    again = integration(client, token["token"], ROWS).json
    assert all(k["unchanged"] and not (k["created"] or k["changed"] or k["cancelled"]) for k in again["diff"].values())
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.external_id == "V-1"))
        assert entry.actor == "integration: TES planering" and entry.actor_token_id == token["id"]


def test_an_error_is_a_422_naming_kind_row_and_column_and_nothing_is_applied(app, client, token):
    bad = dict(ROWS, visits=[dict(ROWS["visits"][0], end="2026-12-08T07:00:00+01:00")])
    r = integration(client, token["token"], bad)
    assert r.status_code == 422 and r.json["code"] == "import_invalid"
    assert r.json["problems"] == [{"file": "visits", "line": 1, "column": "end",
                                   "message": "Sluttiden måste vara efter starttiden."}]
    assert r.json["errors"] == {"visits:1:end": ["Sluttiden måste vara efter starttiden."]}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client).where(Client.personal_number == PNR)) == 0


def test_an_integration_token_cannot_be_used_as_a_person(app, client, token):
    with app.app_context():
        client_id = db.session.scalar(select(func.min(Client.id)))
    for method, path in (("GET", "/api/sync/pull"), ("GET", f"/api/clients/{client_id}"),
                         ("POST", "/api/sync/push"), ("GET", "/api/admin/integration-tokens"),
                         ("POST", "/api/admin/import"), ("GET", "/api/outages")):
        r = client.open(path, method=method, headers=bearer(token["token"]), json={} if method == "POST" else None)
        assert r.status_code == 401, (method, path, r.status_code)


def test_a_persons_login_does_not_open_the_integration_door(app, client, admin):
    r = integration(client, admin.login["token"], ROWS)
    assert r.status_code == 403 and r.json["code"] == "forbidden"
    with app.app_context():
        row = db.session.scalar(select(AccessLog).order_by(AccessLog.id.desc()))
        assert row.outcome == "denied" and row.user_id == admin.user["id"]
    assert integration(client, "", ROWS).status_code == 401
    assert integration(client, "hvi_not-a-token", ROWS).json["code"] == "token_invalid"


def test_a_revoked_token_gets_401(app, client, admin, token):
    assert integration(client, token["token"], dict(ROWS, dry_run=True)).status_code == 200
    revoked = admin.post(f"/api/admin/integration-tokens/{token['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    r = integration(client, token["token"], dict(ROWS, dry_run=True))
    assert r.status_code == 401 and r.json["code"] == "token_revoked"


def test_a_token_imports_only_into_its_own_units(app, client, token):
    south = dict(ROWS, clients=[dict(ROWS["clients"][0], unit="SODER")], care_plans=[], medications=[], visits=[],
                 staff=[])
    r = integration(client, token["token"], south)
    assert r.status_code == 422
    assert r.json["problems"][0]["message"] == "Enheten 'SODER' är inte en av dina enheter."


def test_another_units_administrator_cannot_import_into_or_read_this_unit(app, client, admin2, token):
    assert integration(client, token["token"], ROWS).status_code == 200  # Norr's data, by Norr's token
    # Söder's administrator: cannot touch Norr's visit, client or unit, and learns nothing of them.
    csv = ("external_id;client;start;end;staff\n"
           "V-1;B-1;2026-12-08 10:00;2026-12-08 10:30;P-1\n").encode()
    r = admin2.client.post("/api/admin/import", headers=admin2.headers,
                           data={"files": (io.BytesIO(csv), "visits.csv")}, content_type="multipart/form-data")
    assert r.status_code == 422
    messages = {p["column"]: p["message"] for p in r.json["problems"]}
    assert messages["client"] == "Okänd brukare 'B-1': finns varken i importen eller bland dina enheters brukare."
    assert PNR not in r.get_data(as_text=True) and "Fiktiv Ett" not in r.get_data(as_text=True)
    clients = ("external_id;unit;personal_number;name;address;key_ref\n"
               f"B-1;SODER;{PNR};Flyttad;Gata 1;K\n").encode()
    r = admin2.client.post("/api/admin/import", headers=admin2.headers,
                           data={"files": (io.BytesIO(clients), "clients.csv")}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["problems"][0]["message"] == \
        "Id:t 'B-1' används redan av en brukare i en annan enhet."
    assert admin2.get("/api/admin/integration-tokens").json["tokens"] == []
    assert admin2.post(f"/api/admin/integration-tokens/{token['id']}/revoke").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Unit.code).join(Client, Client.unit_id == Unit.id)
                                 .where(Client.external_id == "B-1")) == "NORR"
        assert db.session.scalar(select(Client.name).where(Client.external_id == "B-1")) == "Fiktiv Ett"


def test_an_administrators_upload_shows_the_diff_logs_the_reads_and_applies_the_same(app, admin):
    body = {"files": [(io.BytesIO(b"external_id;unit;username;name;role\n"
                                  b"P-9;NORR;p9.norr;Nils Nio;worker\n"), "staff.csv"),
                      (io.BytesIO(f"external_id,unit,personal_number,name,address,key_ref\n"
                                  f"B-9,NORR,{PNR},Fiktiv Nio,Gata 9,N-9\n".encode()), "clients.csv")]}
    dry = admin.client.post("/api/admin/import", headers=admin.headers, data=dict(body, dry_run="1"),
                            content_type="multipart/form-data")
    assert dry.status_code == 200, dry.json
    assert dry.json["diff"]["clients"]["items"][0]["changes"]["name"] == {"before": None, "after": "Fiktiv Nio"}
    body = {"files": [(io.BytesIO(b"external_id;unit;username;name;role\nP-9;NORR;p9.norr;Nils Nio;worker\n"),
                       "staff.csv"),
                      (io.BytesIO(f"external_id,unit,personal_number,name,address,key_ref\n"
                                  f"B-9,NORR,{PNR},Fiktiv Nio,Gata 9,N-9\n".encode()), "clients.csv")]}
    applied = admin.client.post("/api/admin/import", headers=admin.headers, data=body,
                                content_type="multipart/form-data")
    assert applied.status_code == 200 and applied.json["diff"] == dry.json["diff"]
    with app.app_context():
        client_id = db.session.scalar(select(Client.id).where(Client.external_id == "B-9"))
        assert client_id is not None
    changed = admin.client.post("/api/admin/import", headers=admin.headers, content_type="multipart/form-data",
                                data={"files": [(io.BytesIO(f"external_id,unit,personal_number,name,address,key_ref\n"
                                                            f"B-9,NORR,{PNR},Fiktiv Nio,Gata 10,N-9\n".encode()),
                                                 "clients.csv")], "dry_run": "1"})
    assert changed.json["diff"]["clients"]["items"][0]["changes"] == {"address": {"before": "Gata 9",
                                                                                  "after": "Gata 10"}}
    with app.app_context():  # the administrator saw a stored client's data: that read is in the access log
        assert db.session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.client_id == client_id, AccessLog.action == "import", AccessLog.user_id == admin.user["id"]))


def test_the_upload_takes_the_example_xlsx_and_csv_and_refuses_other_files(app, admin):
    r = admin.client.post("/api/admin/import", headers=admin.headers, content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(b"x"), "notes.txt")]})
    assert r.status_code == 422 and "Bara .csv och .xlsx" in r.json["problems"][0]["message"]
    r = admin.client.post("/api/admin/import", headers=admin.headers, content_type="multipart/form-data", data={})
    assert r.status_code == 422 and r.json["errors"] == {"files": ["Välj minst en fil."]}
    r = admin.client.post("/api/admin/import", headers=admin.headers, content_type="multipart/form-data",
                          data={"files": [(io.BytesIO((EXAMPLE / "units.csv").read_bytes()), "units.csv")]})
    assert r.status_code == 422 and "Nya enheter kan bara skapas" in r.json["problems"][0]["message"]


def test_the_documented_json_example_works_against_the_example_set(app, client):
    import json
    from server.importer import run_import, tokens
    from server.importer.read import path_tables
    with app.app_context():
        assert run_import(lambda: path_tables([str(EXAMPLE)]), apply=True, actor={"name": "test"}).ok
        east = db.session.scalar(select(Unit).where(Unit.external_id == "ENH-OST"))
        _, secret = tokens.create("TES", [east], {"name": "test"})
        db.session.commit()
    body = json.loads((EXAMPLE / "integration.json").read_text(encoding="utf-8"))
    r = integration(client, secret, body)
    assert r.status_code == 200, r.json
    visits = r.json["diff"]["visits"]
    assert (visits["changed"], visits["cancelled"], visits["unchanged"]) == (1, 1, 0)
    assert r.json["diff"]["staff"]["unchanged"] == 1 and r.json["applied"] is False


def test_the_audit_trail_shows_the_own_units_changes_and_logs_the_client_reads(app, client, admin, admin2, manager,
                                                                              token):
    assert integration(client, token["token"], ROWS).status_code == 200
    changed = dict(ROWS, clients=[dict(ROWS["clients"][0], address="Norrgatan 2")])
    assert integration(client, token["token"], changed).status_code == 200
    entries = manager.get("/api/admin/audit-trail").json["entries"]
    newest = entries[0]
    assert (newest["entity"], newest["external_id"], newest["action"], newest["actor"]) == \
        ("client", "B-1", "changed", "integration: TES planering")
    assert newest["before"]["address"] == "Norrgatan 1" and newest["after"]["address"] == "Norrgatan 2"
    assert {e["entity"] for e in entries} >= {"staff", "client", "care_plan", "medications", "visit", "token"}
    with app.app_context():
        client_id = db.session.scalar(select(Client.id).where(Client.external_id == "B-1"))
        assert db.session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.action == "audit_trail", AccessLog.client_id == client_id,
            AccessLog.user_id == manager.user["id"])) == 1
    theirs = admin2.get("/api/admin/audit-trail").json["entries"]  # Söder's own: the demo's import
    assert theirs and not [e for e in theirs if e["external_id"] in ("P-1", "B-1", "B-1/TILLSYN", "V-1")
                           or e["external_id"].startswith("NORR") or e["entity"] == "token"]


def ndjson(response):
    import json
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_the_admin_page_gets_the_steps_as_they_come_then_the_answer_the_json_door_gives(app, admin):
    def upload(accept):
        files = [(io.BytesIO(b"external_id;unit;username;name;role\nP-9;NORR;p9.norr;Nils Nio;worker\n"), "staff.csv"),
                 (io.BytesIO(b"external_id;client;start;end;staff\n"
                             b"V-9;C-NORR-1;2026-12-08 21:00;2026-12-08 21:30;P-9\n"), "visits.csv")]
        return admin.client.post("/api/admin/import", headers=dict(admin.headers, Accept=accept),
                                 data={"files": files, "dry_run": "1"}, content_type="multipart/form-data")
    with app.app_context():  # a client of Norr stored before imports, referred to by its id
        db.session.scalar(select(Client).where(Client.unit_id == db.session.scalar(
            select(Unit.id).where(Unit.code == "NORR"))).order_by(Client.id)).external_id = "C-NORR-1"
        db.session.commit()
    lines = ndjson(upload("application/x-ndjson"))
    assert [line["progress"]["step"] for line in lines[:-1]] == ["read", "plan", "bookings"]
    assert lines[0]["text"] == "Läst: 1 staff." and lines[-1]["status"] == 200
    assert lines[-1]["body"] == upload("application/json").json
    assert lines[-1]["body"]["diff"]["visits"]["created"] == 1


def test_a_problem_found_after_the_apply_began_writing_leaves_nothing_at_any_door(app, client, admin, token, runner,
                                                                                  tmp_path):
    clash = dict(ROWS["visits"][0], external_id="V-2", interventions=[])  # P-1 twice at 08:00: found last
    body = dict(ROWS, visits=ROWS["visits"] + [clash])
    r = integration(client, token["token"], body)
    assert r.status_code == 422 and "dubbelbokad" in r.json["problems"][0]["message"]
    csv = {"staff": "external_id;unit;username;name;role\nP-1;NORR;p1.norr;Pia Ett;worker\n",
           "clients": f"external_id;unit;personal_number;name;address;key_ref\nB-1;NORR;{PNR};Fiktiv Ett;Gata 1;K\n",
           "visits": "external_id;client;start;end;staff\nV-1;B-1;2026-12-08 08:00;2026-12-08 08:30;P-1\n"
                     "V-2;B-1;2026-12-08 08:10;2026-12-08 08:40;P-1\n"}
    files = [(io.BytesIO(text.encode()), f"{kind}.csv") for kind, text in csv.items()]
    lines = ndjson(admin.client.post("/api/admin/import", headers=dict(admin.headers, Accept="application/x-ndjson"),
                                     data={"files": files}, content_type="multipart/form-data"))
    assert lines[-1]["status"] == 422 and lines[-1]["body"]["code"] == "import_invalid"
    for kind, text in csv.items():
        (tmp_path / f"{kind}.csv").write_text(text)
    result = runner.invoke(args=["import", str(tmp_path)])
    assert result.exit_code == 1 and "dubbelbokad" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client).where(Client.personal_number == PNR)) == 0
        assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.external_id.in_(["V-1", "V-2"]))) == 0
