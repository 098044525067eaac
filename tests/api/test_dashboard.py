"""Dashboards on crafted data: the backlog, readiness, trend and gap figures are the ones we planted,
the viewer sees only their own unit (anything else is a 403 that is access-logged), and CSV opens right."""
import csv
import io
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.dashboard.models import AccessCheck, BacklogSnapshot
from server.extensions import db
from server.models import AccessLog, Device
from tests.support import dashboard_data as dd

STOCKHOLM = ZoneInfo("Europe/Stockholm")
H, MIN = timedelta(hours=1), timedelta(minutes=1)


@pytest.fixture
def aby(app, monkeypatch):
    """The crafted unit, with the dashboards' clock fixed at noon today (Stockholm)."""
    noon = datetime.combine(datetime.now(STOCKHOLM).date(), time(12), tzinfo=STOCKHOLM).astimezone(timezone.utc)
    monkeypatch.setattr("server.dashboard.views.utcnow", lambda: noon)
    with app.app_context():
        crafted = dd.build(now=noon)
        ids = {"unit": crafted.unit.id, "other_unit": crafted.other_unit.id,
               "workers": [w.id for w in crafted.workers], "clients": [c.id for c in crafted.clients],
               "other_client": crafted.other_client.id, "other_worker": crafted.other_worker.id,
               "manager": crafted.manager.id}
    crafted.ids = ids
    return crafted


@pytest.fixture
def manager(auth, aby):
    return auth.login("chef_aby", device_id="web-chef-aby-0001")


def _in_app(app, fn):
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def _workers(aby):
    return [db.session.get(dd.User, i) for i in aby.ids["workers"]]


def plant_backlog(app, aby):
    def go():
        w = _workers(aby)
        now = aby.now
        dd.add_device(w[0], "aby-phone-1", now=now, pending=5, oldest_pending=3 * H, seen=10 * MIN)
        dd.add_device(w[1], "aby-phone-2", now=now, pending=2, oldest_pending=30 * MIN, seen=9 * H)  # silent
        dd.add_device(w[2], "aby-phone-3", now=now, pending=0, seen=None)  # never heard from: silent
        dd.add_device(w[3], "aby-phone-4", now=now, pending=None, seen=1 * H)
        dd.add_device(w[0], "aby-phone-old", now=now, pending=100, oldest_pending=48 * H, seen=50 * H, revoked=True)
        dd.add_device(db.session.get(dd.User, aby.ids["manager"]), "aby-browser", now=now, pending=None, seen=MIN)
        dd.add_device(db.session.get(dd.User, aby.ids["other_worker"]), "norr-phone", now=now, pending=50,
                      oldest_pending=99 * H, seen=20 * H)
        dd.add_quarantined(w[0])
        dd.add_quarantined(w[1])
        dd.add_quarantined(w[1], state="dismissed")
        dd.add_quarantined(db.session.get(dd.User, aby.ids["other_worker"]))
    _in_app(app, go)


def test_backlog_counts_the_units_phones_from_their_last_status_blocks(app, aby, manager):
    plant_backlog(app, aby)
    response = manager.get("/api/dashboard/backlog")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["unit"]["name"] == "Hemtjänst Åby"
    assert body["totals"] == {
        "devices": 4, "pending_records": 7, "devices_with_pending": 2,
        "oldest_pending_at": (aby.now - 3 * H).isoformat().replace("+00:00", "Z"),
        "oldest_pending_seconds": 3 * 3600, "silent_devices": 2, "quarantined_open": 2}
    assert [d["device_id"] for d in body["devices"]] == ["aby-phone-1", "aby-phone-2", "aby-phone-3", "aby-phone-4"]
    first, second, never = body["devices"][:3]
    assert first["pending"] == 5 and first["oldest_pending_seconds"] == 3 * 3600 and not first["silent"]
    assert first["worker"]["display_name"] == "Märta Åkesson" and first["app_version"] == "1.2.0"
    assert second["silent"] and second["silent_seconds"] == 9 * 3600
    assert never["silent"] and never["last_contact_at"] is None
    assert body["settings"]["silent_after_minutes"] == 480


def test_backlog_device_list_is_limited_but_totals_count_every_device(app, aby, manager):
    plant_backlog(app, aby)
    body = manager.get("/api/dashboard/backlog?limit=1").json
    assert len(body["devices"]) == 1 and body["totals"]["devices"] == 4


def test_silent_threshold_is_a_setting(app, aby, manager):
    plant_backlog(app, aby)
    app.config["DEVICE_SILENT_MINUTES"] = 5
    assert manager.get("/api/dashboard/backlog").json["totals"]["silent_devices"] == 4


def test_the_trend_keeps_a_daily_snapshot_of_the_backlog(app, aby, manager):
    plant_backlog(app, aby)

    def older_snapshot():
        today = aby.now.astimezone(STOCKHOLM).date()
        db.session.add(BacklogSnapshot(unit_id=aby.ids["unit"], day=today - timedelta(days=3), taken_at=aby.now - 72 * H,
                                       devices=4, pending_records=40, devices_with_pending=3, silent_devices=1,
                                       oldest_pending_seconds=7200, quarantined_open=0))
    _in_app(app, older_snapshot)
    manager.get("/api/dashboard/trends?days=4")
    manager.get("/api/dashboard/trends?days=4")  # the same day again updates, never duplicates
    with app.app_context():
        today = aby.now.astimezone(STOCKHOLM).date()
        rows = {s.day: s.pending_records for s in db.session.query(BacklogSnapshot).filter_by(unit_id=aby.ids["unit"])}
        assert rows[today] == 7 and rows[today - timedelta(days=3)] == 40
        assert len(rows) == 4  # today, and the three finished days whose delay figures are now kept
    body = manager.get("/api/dashboard/trends?days=4").json
    assert [d["pending_records"] for d in body["days"]] == [40, None, None, 7]
    assert [d["devices_with_pending"] for d in body["days"]] == [3, None, None, 2]
    assert body["days"][-1]["day"] == aby.now.astimezone(STOCKHOLM).date().isoformat()
    assert body["charts"]["backlog"].startswith("<svg") and "Väntande poster: 7 st" in body["charts"]["backlog"]


def test_trend_sync_delay_is_the_average_wait_of_device_records_per_local_day(app, aby, manager):
    def go():
        w = _workers(aby)
        now = aby.now
        dd.add_event(w[0], occurred=now - 11 * MIN, received=now - MIN)  # waited 600 s
        dd.add_event(w[1], occurred=now - 32 * MIN, received=now - 2 * MIN)  # waited 1800 s
        dd.add_event(w[0], occurred=now - 26 * H, received=now - 24 * H)  # yesterday, waited 7200 s
        dd.add_event(w[0], occurred=now - 5 * H, received=now - 3 * MIN, source="backfill")  # not a phone's wait
        dd.add_event(db.session.get(dd.User, aby.ids["other_worker"]), occurred=now - 9 * H, received=now - MIN)
    _in_app(app, go)
    days = manager.get("/api/dashboard/trends?days=3").json["days"]
    assert [d["synced_records"] for d in days] == [0, 1, 2]
    assert [d["avg_sync_delay_seconds"] for d in days] == [None, 7200, 1200]
    assert [d["max_sync_delay_seconds"] for d in days] == [None, 7200, 1800]
    with app.app_context():  # finished days are final: kept, so later requests aggregate only today
        kept = {s.day: (s.synced_records, s.avg_sync_delay_seconds) for s in
                db.session.query(BacklogSnapshot).filter_by(unit_id=aby.ids["unit"])}
    today = aby.now.astimezone(STOCKHOLM).date()
    assert kept == {today - timedelta(days=2): (0, None), today - timedelta(days=1): (1, 7200.0),
                    today: (None, None)}  # today's row holds the backlog; its delays stay live
    assert manager.get("/api/dashboard/trends?days=3").json["days"] == days


def plant_readiness(app, aby):
    def go():
        w = _workers(aby)
        now = aby.now
        c = aby.ids["clients"]
        client = db.session.get(dd.Client, c[0])
        unit = db.session.get(dd.Unit, aby.ids["unit"])
        dd.add_visit(unit, client, [w[0]], now + 1 * H)
        dd.add_visit(unit, client, [w[0]], now + 6 * H, minutes=60)  # w1's shift ends at now + 7 h
        dd.add_visit(unit, client, [w[1]], now + 2 * H)
        dd.add_visit(unit, client, [w[1]], now - 2 * H)  # already over
        dd.add_visit(unit, client, [w[2]], now + 3 * H)  # ends now + 3.5 h
        dd.add_visit(unit, client, [w[3]], now + 4 * H)
        dd.add_visit(unit, client, [w[3]], now + 20 * H)  # beyond the 12-hour horizon
        cancelled = dd.add_visit(unit, client, [w[2]], now + 11 * H)
        cancelled.cancelled = True
        dd.add_device(w[0], "aby-ok", now=now, pulled=20 * MIN, covers=30 * H, seen=20 * MIN)
        dd.add_device(w[0], "aby-unused", now=now, pulled=None, seen=None)
        dd.add_device(w[1], "aby-stale", now=now, pulled=3 * H, covers=30 * H, seen=3 * H)
        dd.add_device(w[2], "aby-short", now=now, pulled=10 * MIN, covers=3 * H, seen=10 * MIN)
        dd.add_device(w[2], "aby-revoked", now=now, pulled=MIN, covers=30 * H, seen=MIN, revoked=True)
        # w[3] has a shift and no phone at all
    _in_app(app, go)


def test_readiness_states_and_who_would_be_without_data(app, aby, manager):
    plant_readiness(app, aby)
    body = manager.get("/api/dashboard/readiness").json
    assert body["copy_age_limit_minutes"] == 60
    assert body["counts"] == {"ok": 1, "stale": 1, "short": 1, "missing": 1}
    states = {d["device_id"]: d for d in body["devices"]}
    assert set(states) == {"aby-ok", "aby-unused", "aby-stale", "aby-short"}
    assert {k: v["state"] for k, v in states.items()} == {"aby-ok": "ok", "aby-unused": "missing",
                                                          "aby-stale": "stale", "aby-short": "short"}
    assert states["aby-stale"]["copy_age_seconds"] == 3 * 3600 and states["aby-stale"]["covers_shift"]
    assert states["aby-ok"]["shift"]["visits"] == 2
    assert states["aby-ok"]["shift"]["end"] == (aby.now + 7 * H).isoformat().replace("+00:00", "Z")
    assert not states["aby-short"]["covers_shift"]
    assert [d["device_id"] for d in body["devices"]][0] == "aby-unused"  # no copy at all comes first
    without = body["without_data"]
    assert without["count"] == 2
    assert [(w["worker"]["display_name"], w["reason"]) for w in without["workers"]] == [
        ("Gun Östlund", "copy_too_short"), ("Kalle Ek", "no_copy")]
    assert "Äldre än 60 min: 1 st" in body["charts"]["states"]


def test_readiness_limit_is_the_copy_age_setting(app, aby, manager):
    plant_readiness(app, aby)
    app.config["COPY_AGE_WARN_MINUTES"] = 5
    body = manager.get("/api/dashboard/readiness").json
    assert body["counts"] == {"ok": 0, "stale": 3, "short": 0, "missing": 1}
    assert body["without_data"]["count"] == 2  # stale is old, not absent: the shift is still on the phone


# -- scope ---------------------------------------------------------------------------------------------------

def _denials(app, username):
    with app.app_context():
        user = db.session.query(dd.User).filter_by(username=username).one()
        return [(r.client_id, r.action, r.detail) for r in
                db.session.query(AccessLog).filter_by(user_id=user.id, outcome="denied").order_by(AccessLog.id)]


@pytest.mark.parametrize("path", ["backlog", "trends", "readiness", "people", "access-log", "access-log.csv",
                                  "access-checks", "registrations.csv"])
def test_another_units_figures_are_refused_and_the_attempt_is_logged(app, aby, manager, path):
    response = manager.get(f"/api/dashboard/{path}?unit_id={aby.ids['other_unit']}")
    assert response.status_code == 403
    assert response.json["code"] == "out_of_scope" and response.json["status"] == 403
    denials = _denials(app, "chef_aby")
    assert len(denials) == 1 and denials[0][2] == f"other_unit:{aby.ids['other_unit']}"


def test_own_unit_id_is_accepted(aby, manager):
    assert manager.get(f"/api/dashboard/backlog?unit_id={aby.ids['unit']}").status_code == 200


def test_another_units_client_or_user_in_the_access_log_is_refused_and_logged(app, aby, manager):
    response = manager.get(f"/api/dashboard/access-log?client_id={aby.ids['other_client']}")
    assert response.status_code == 403
    response = manager.get(f"/api/dashboard/access-log.csv?user_id={aby.ids['other_worker']}")
    assert response.status_code == 403
    denials = _denials(app, "chef_aby")
    assert denials[0][:2] == (aby.ids["other_client"], "access_log_review")
    assert denials[1] == (None, "access_log_export", f"other_unit_user:{aby.ids['other_worker']}")


def test_workers_cannot_see_dashboards(auth, aby):
    worker = auth.login("aby1", device_id="aby1-phone-0001")
    response = worker.get("/api/dashboard/backlog")
    assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_dashboards_need_a_login(client):
    assert client.get("/api/dashboard/readiness").status_code == 401


def test_administrators_see_the_same_pages(auth, aby):
    admin = auth.login("admin_aby", device_id="web-admin-aby-001")
    assert admin.get("/api/dashboard/backlog").json["unit"]["name"] == "Hemtjänst Åby"


def test_invalid_query_is_422_with_field_messages(manager):
    response = manager.get("/api/dashboard/access-log?from=2026-02-10&to=2026-02-01")
    assert response.status_code == 422 and "from" in response.json["errors"]
    response = manager.get("/api/dashboard/access-log?limit=0&client_id=x")
    assert response.status_code == 422 and set(response.json["errors"]) == {"limit", "client_id"}


def test_gaps_say_when_the_outages_area_is_not_there_instead_of_showing_zeros(aby, manager, monkeypatch):
    monkeypatch.setattr("server.dashboard.outage_figures._outages", lambda: None)
    body = manager.get("/api/dashboard/backlog").json
    assert body["gaps"] == {"available": False} and "charts" not in body


# -- access-log review -----------------------------------------------------------------------------------------

def plant_access(app, aby):
    def go():
        w = _workers(aby)
        c = [db.session.get(dd.Client, i) for i in aby.ids["clients"]]
        other = db.session.get(dd.User, aby.ids["other_worker"])
        now = aby.now
        dd.add_access(w[0], c[0], at=now - H, action="open_medication_list", offline=True, device_id="aby-phone-1")
        dd.add_access(w[1], c[1], at=now - 2 * H, action="read_client", device_id="aby-phone-2")
        dd.add_access(other, c[0], at=now - 30 * MIN, action="read_client", outcome="denied", device_id="norr-1")
        dd.add_access(w[0], c[0], at=now - 8 * 24 * H, action="open_overview", device_id="aby-phone-1")
        dd.add_access(other, db.session.get(dd.Client, aby.ids["other_client"]), at=now - H, action="read_client")
    _in_app(app, go)


def test_access_log_search_by_period_client_and_user(app, aby, manager):
    plant_access(app, aby)
    body = manager.get("/api/dashboard/access-log").json
    assert body["counts"] == {"total": 3, "denied": 1, "offline": 1}
    assert [r["action"] for r in body["rows"]] == ["read_client", "open_medication_list", "read_client"]
    denied, offline, online = body["rows"]
    assert denied["outcome"] == "denied" and denied["unit"] != "Hemtjänst Åby"
    assert offline["offline"] and offline["device_id"] == "aby-phone-1"
    assert offline["client"]["personal_number"] == "18020202-0202"
    assert offline["user"]["display_name"] == "Märta Åkesson" and offline["unit"] == "Hemtjänst Åby"

    by_client = manager.get(f"/api/dashboard/access-log?client_id={aby.ids['clients'][0]}").json
    assert [r["user"]["username"] for r in by_client["rows"]] == [denied["user"]["username"], "aby1"]
    by_user = manager.get(f"/api/dashboard/access-log?user_id={aby.ids['workers'][1]}").json
    assert by_user["counts"]["total"] == 1
    today = aby.now.astimezone(STOCKHOLM).date()
    longer = manager.get(f"/api/dashboard/access-log?from={today - timedelta(days=10)}&to={today}").json
    assert longer["counts"]["total"] == 4 + 3  # the planted rows, and the three reviews made just now
    assert [r["action"] for r in longer["rows"]].count("access_log_review") == 3
    assert longer["settings"]["retention_days"] >= 5 * 365


def test_access_log_pages_follow_on_from_the_last_row_shown(app, aby, manager):
    """Each page starts after the last row of the one before (its `at`, then its id for rows of the same
    moment): no row repeats or is skipped, also when rows are logged meanwhile (every review is), and the last
    page has no `next`."""
    plant_access(app, aby)

    def same_moment():
        w, c = _workers(aby), db.session.get(dd.Client, aby.ids["clients"][2])
        for _ in range(2):
            dd.add_access(w[1], c, at=aby.now - 3 * H, action="read_client", device_id="aby-phone-2")
    _in_app(app, same_moment)
    today = aby.now.astimezone(STOCKHOLM).date()
    period = {"from": str(today - timedelta(days=10)), "to": str(today), "limit": 2}
    page = manager.get("/api/dashboard/access-log", query_string=period).json
    total, seen = page["counts"]["total"], list(page["rows"])
    while page["next"]:
        page = manager.get("/api/dashboard/access-log", query_string={**period, **page["next"]}).json
        assert len(page["rows"]) <= 2
        seen += page["rows"]
    assert len({r["id"] for r in seen}) == len(seen)
    assert [(r["at"], r["id"]) for r in seen] == sorted(((r["at"], r["id"]) for r in seen), reverse=True)
    planted = [r for r in seen if r["action"] != "access_log_review"]  # reviews logged during the walk may show
    assert total == 6 and len(planted) == 6 and [r["action"] for r in planted].count("read_client") == 4


def test_reviewing_the_log_is_itself_logged(app, aby, manager):
    manager.get(f"/api/dashboard/access-log?client_id={aby.ids['clients'][2]}")
    with app.app_context():
        rows = db.session.query(AccessLog).filter_by(action="access_log_review").all()
        assert [(r.client_id, r.outcome, r.device_id) for r in rows] == [
            (aby.ids["clients"][2], "allowed", "web-chef-aby-0001")]


def read_csv(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # so Excel reads UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_access_log_csv_opens_correctly(app, aby, manager):
    plant_access(app, aby)
    response = manager.get(f"/api/dashboard/access-log.csv?client_id={aby.ids['clients'][0]}")
    assert 'filename="atkomstlogg-hemtjanst-aby-' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:4] == ["Tidpunkt", "Användare", "Användarnamn", "Brukare"]
    data = [r for r in rows[1:] if r[5] != "access_log_export"]
    assert [r[3] for r in data] == ['Fiktiv "Kvinna"; Åby'] * 2  # quotes and ; survive the round trip
    assert data[1][1] == "Märta Åkesson" and data[1][8] == "ja" and data[1][7] == "aby-phone-1"
    assert data[0][6] == "nekad"
    local = (aby.now - H).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    assert data[1][0] == local


def test_recording_an_access_check(app, aby, manager):
    plant_access(app, aby)
    before = manager.get("/api/dashboard/access-checks").json
    assert before["overdue"] and before["checks"] == []
    today = aby.now.astimezone(STOCKHOLM).date()
    response = manager.post("/api/dashboard/access-checks",
                            json={"from": str(today - timedelta(days=6)), "to": str(today),
                                  "note": "Stickprov: nekad åtkomst från Norr utredd, inga fler avvikelser."})
    assert response.status_code == 201, response.json
    assert response.json["rows_reviewed"] == 3 and response.json["denied_reviewed"] == 1
    assert response.json["checked_by"]["display_name"] == "Åsa Öberg"
    after = manager.get("/api/dashboard/access-checks").json
    assert not after["overdue"] and len(after["checks"]) == 1
    assert after["next_due_at"] == (aby.now + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    with app.app_context():
        assert db.session.query(AccessCheck).one().unit_id == aby.ids["unit"]


def test_an_access_check_needs_a_note(manager):
    response = manager.post("/api/dashboard/access-checks", json={"from": "2026-01-01", "to": "2026-01-31"})
    assert response.status_code == 422 and "note" in response.json["errors"]


# -- registrations export --------------------------------------------------------------------------------------

def plant_registrations(app, aby):
    def go():
        w = _workers(aby)
        c = [db.session.get(dd.Client, i) for i in aby.ids["clients"]]
        unit = db.session.get(dd.Unit, aby.ids["unit"])
        other = db.session.get(dd.User, aby.ids["other_worker"])
        yesterday = aby.now - 24 * H
        visits = {}
        for name, worker, client, offset in [("self", w[0], c[0], 0), ("skew", w[1], c[1], 1),
                                             ("backfill", w[2], c[2], 2), ("conflict", w[3], c[1], 3),
                                             ("quarantine", w[0], c[1], 4)]:
            v = dd.add_visit(unit, client, [worker], yesterday + offset * H)
            visits[name] = v
            start, end = v.planned_start, v.planned_end
            source = "backfill" if name == "backfill" else "device"
            dd.register(v, worker, start, end, source=source)
            for kind, at in (("visit_started", start), ("visit_ended", end)):
                dd.add_event(worker, type_=kind, visit=v, occurred=at, received=aby.now - H, source=source,
                             skew_flagged=name == "skew",
                             payload={"post_registration": True} if name == "self" else None)
        dd.add_event(w[3], type_="visit_started", visit=visits["conflict"], occurred=yesterday, received=aby.now,
                     source="backfill")
        dd.add_event(w[1], type_="visit_started", visit=visits["skew"], occurred=visits["skew"].planned_start +
                     MIN, received=aby.now, source="backfill")  # the same time, written twice: no conflict
        dd.add_quarantined(w[0], visit=visits["quarantine"])
        dd.add_quarantined(w[1], visit=visits["skew"], state="dismissed")
        far = dd.add_visit(unit, c[0], [w[0]], aby.now - 60 * 24 * H)  # outside the default period
        dd.register(far, w[0], far.planned_start, far.planned_end)
        norr_client = db.session.get(dd.Client, aby.ids["other_client"])
        norr = dd.add_visit(db.session.get(dd.Unit, aby.ids["other_unit"]), norr_client, [other], yesterday)
        dd.register(norr, other, norr.planned_start, norr.planned_end)
    _in_app(app, go)


def test_registrations_csv_marks_source_and_flags(app, aby, manager):
    plant_registrations(app, aby)
    response = manager.get("/api/dashboard/registrations.csv")
    assert 'filename="registreringar-hemtjanst-aby-' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    header, data = rows[0], rows[1:]
    assert header == ["Besöks-id", "Datum", "Planerad start", "Planerad slut", "Brukare", "Medarbetare",
                      "Användarnamn", "Start", "Slut", "Minuter", "Källa", "Klockavvikelse", "Konflikt", "Karantän"]
    table = {(r[6], r[4]): r for r in data}
    assert len(data) == 5
    self_row = table[("aby1", 'Fiktiv "Kvinna"; Åby')]
    assert self_row[10] == "Efterregistrering (medarbetare)" and self_row[9] == "30"
    assert self_row[11:] == ["nej", "nej", "nej"]
    assert table[("aby2", "'=Fiktiv Man")][10:] == ["Mobil (enhet)", "ja", "nej", "nej"]  # no formula
    assert table[("aby3", "Ärla Öst")][10:] == ["Efterregistrering (administratör)", "nej", "nej", "nej"]
    assert table[("aby4", "'=Fiktiv Man")][10:] == ["Mobil (enhet)", "nej", "ja", "nej"]
    assert table[("aby1", "'=Fiktiv Man")][10:] == ["Mobil (enhet)", "nej", "nej", "ja"]
    assert self_row[5] == "Märta Åkesson"
    with app.app_context():
        log = db.session.query(AccessLog).filter_by(action="registrations_export").one()
        assert log.outcome == "allowed"


def test_registrations_csv_period_is_inclusive_local_days(app, aby, manager):
    plant_registrations(app, aby)
    today = aby.now.astimezone(STOCKHOLM).date()
    old_day = (aby.now - 60 * 24 * H).astimezone(STOCKHOLM).date()
    rows = read_csv(manager.get(f"/api/dashboard/registrations.csv?from={old_day}&to={old_day}"))
    assert len(rows) == 2 and rows[1][1] == str(old_day)
    rows = read_csv(manager.get(f"/api/dashboard/registrations.csv?from={today}&to={today}"))
    assert len(rows) == 1  # only the header: nothing planned today


def test_people_lists_only_the_units_clients_and_staff(aby, manager):
    body = manager.get("/api/dashboard/people").json
    assert sorted(c["id"] for c in body["clients"]) == sorted(aby.ids["clients"])
    assert {u["username"] for u in body["users"]} == {"chef_aby", "admin_aby", "aby1", "aby2", "aby3", "aby4"}
    assert all(c["address"] for c in body["clients"])  # two clients of one name are told apart by it


def test_people_names_the_units_devices_so_the_access_log_need_not_show_their_ids(app, aby, manager):
    with app.app_context():
        ids = {d.id for d in db.session.scalars(select(Device).where(Device.unit_id == aby.ids["unit"]))}
    devices = manager.get("/api/dashboard/people").json["devices"]
    assert {d["id"] for d in devices} == ids and ids
    assert all(set(d) == {"id", "name", "enrolled_at"} for d in devices)


def test_devices_of_managers_browsers_are_not_counted_as_phones(app, aby, manager):
    with app.app_context():
        assert db.session.get(Device, "web-chef-aby-0001") is not None
    assert manager.get("/api/dashboard/backlog").json["totals"]["devices"] == 0


# -- gaps from the outages area ----------------------------------------------------------------------------------

def plant_gaps(app, aby):
    from server.outages.models import Gap, Outage

    def go():
        w = _workers(aby)
        now = aby.now
        unit = db.session.get(dd.Unit, aby.ids["unit"])
        client = db.session.get(dd.Client, aby.ids["clients"][0])
        outage = Outage(kind="unplanned", status="confirmed", title="TES nere", started_at=now - 30 * H,
                        ended_at=now - 24 * H, created_at=now - 30 * H)
        dismissed = Outage(kind="unplanned", status="dismissed", title="Falsklarm", started_at=now - 30 * H,
                           ended_at=now - 29 * H, created_at=now - 30 * H)
        db.session.add_all([outage, dismissed])
        db.session.flush()

        def gap(o, worker, route, state="open", deadline=None, rule="short_outage_self", unit_id=None):
            visit = dd.add_visit(unit, client, [worker], now - 28 * H)
            db.session.add(Gap(outage_id=o.id, visit_id=visit.id, worker_id=worker.id,
                               unit_id=unit_id or unit.id, state=state, route=route, deadline=deadline, rule=rule,
                               explanation="Testlucka", explanation_en="Test gap", inputs={}, decided_at=now))
        gap(outage, w[0], "self", deadline=now + 24 * H)
        gap(outage, w[1], "self", deadline=now - H)  # past its deadline, not yet escalated
        gap(outage, w[2], "admin", rule="self_deadline_passed")  # escalated after its deadline
        gap(outage, w[3], "admin", rule="worker_absent")
        gap(outage, w[0], "decision", rule="long_outage_needs_decision")
        gap(outage, w[1], None, state="closed", rule="registered")
        gap(dismissed, w[2], "self", deadline=now - H)
        gap(outage, w[3], "admin", unit_id=aby.ids["other_unit"])
    _in_app(app, go)


def test_backlog_counts_gaps_by_route_and_overdue_self_registrations(app, aby, manager):
    plant_gaps(app, aby)
    plant_registrations(app, aby)
    body = manager.get("/api/dashboard/backlog").json
    gaps = body["gaps"]
    assert gaps["available"]
    assert gaps["by_route"] == {"self": 2, "admin": 2, "decision": 1}
    assert gaps["open"] == 5 and gaps["overdue_self"] == 2
    assert gaps["open_conflicts"] == 1
    svg = body["charts"]["gaps"]
    assert "Själv (medarbetare): 2 st" in svg and "Försenade själv: 2 st" in svg and "Konflikter: 1 st" in svg
