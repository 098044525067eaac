"""A large fictitious municipality as a manager's dashboard sees it after a month of use: 2,000 phones in
10 units, 500,000 events, a week of registrations, an access log, quarantine, outage gaps and snapshots.

Written with PostgreSQL COPY (or executemany on SQLite) on an empty, migrated database, so the whole
data set is ready in well under a minute. Everyone is invented; birth years are in the 1800s.
"""
import json
import random
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import text

from sync.personnummer import make as make_personal_number

TZ = ZoneInfo("Europe/Stockholm")
PASSWORD = "pbkdf2:sha256:1000$bench$" + "0" * 64  # nobody logs in with a password here


class Sizes:
    """The issue's figures by default; `quick` shrinks them for a fast look."""

    def __init__(self, quick=False):
        self.units = 10
        self.devices = 200 if quick else 2000
        self.events = 50_000 if quick else 500_000
        self.days_back = 7  # days of visits with records behind "now"
        self.visits_per_day = 8
        self.clients_per_worker = 5
        self.access_rows = 50_000 if quick else 500_000
        self.quarantined = 200 if quick else 2000
        self.gaps_per_unit = 50 if quick else 500
        self.snapshot_days = 14


def _iso(moment):
    return moment.isoformat()


class Writer:
    """Bulk insert: COPY on PostgreSQL, executemany elsewhere; identities moved past the ids we chose."""

    def __init__(self, session):
        self.session = session
        self.pg = session.get_bind().dialect.name == "postgresql"

    def rows(self, table, columns, rows):
        rows = list(rows)
        if not rows:
            return 0
        if self.pg:
            raw = self.session.connection().connection.driver_connection
            with raw.cursor() as cur:
                with cur.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = ", ".join(f":{c}" for c in columns)
            self.session.execute(text(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})'),
                                 [dict(zip(columns, r)) for r in rows])
        return len(rows)

    def fix_sequence(self, table, column="id"):
        if self.pg:
            self.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                      f"(SELECT MAX({column}) FROM \"{table}\"))"))


def _json(value):
    return json.dumps(value, ensure_ascii=False)


def generate(session, sizes=None, now=None, seed=1802):
    """Fill an empty migrated database; returns what the benchmark needs (a manager per unit, ids)."""
    sizes = sizes or Sizes()
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    today = now.astimezone(TZ).date()
    w = Writer(session)
    pg = w.pg
    as_json = _json
    per_unit = sizes.devices // sizes.units

    units = [(u, f"D{u:03d}", f"Hemtjänst Bänk {u}") for u in range(1, sizes.units + 1)]
    w.rows("units", ["id", "code", "name"], units)

    users, devices, managers = [], [], {}
    uid = 0
    worker_unit = {}
    for u in range(1, sizes.units + 1):
        for role in ("manager", "admin"):
            uid += 1
            users.append((uid, f"{role}-d{u}", f"Bänk {role} {u}", role, u, PASSWORD, True))
            if role == "manager":
                managers[u] = uid
        for n in range(per_unit):
            uid += 1
            worker_unit[uid] = u
            users.append((uid, f"dworker{uid}", f"Bänk Medarbetare {uid}", "worker", u, PASSWORD, True))
    w.rows("users", ["id", "username", "display_name", "role", "unit_id", "password_hash", "active"], users)
    workers = sorted(worker_unit)

    # One phone per worker, in every state a manager should notice.
    for uid_ in workers:
        u = worker_unit[uid_]
        pending = rng.choice([0] * 6 + [rng.randint(1, 40) for _ in range(4)])
        seen = now - timedelta(minutes=rng.choice([rng.randint(1, 120)] * 8 + [rng.randint(500, 4000)] * 2))
        pulled = seen - timedelta(minutes=rng.randint(0, 180)) if rng.random() > 0.03 else None
        devices.append((f"dphone-{uid_:05d}", uid_, u, "Telefon", now - timedelta(days=60), None, 0, seen, seen,
                        pulled, None if pulled is None else pulled + timedelta(hours=rng.choice([6, 20, 36])),
                        pending, now - timedelta(minutes=rng.randint(5, 900)) if pending else None, seen, "1.4.2",
                        seen, rng.uniform(-5, 5)))
    w.rows("devices", ["id", "user_id", "unit_id", "name", "enrolled_at", "revoked_at", "token_generation",
                       "last_seen_at", "last_push_at", "last_pull_at", "copy_covers_until", "status_pending",
                       "status_oldest_pending_at", "status_reported_at", "status_app_version", "status_device_clock",
                       "last_skew_seconds"], devices)
    for u, manager in managers.items():
        w.rows("devices", ["id", "user_id", "unit_id", "name", "enrolled_at", "token_generation", "last_seen_at"],
               [(f"web-bench-manager-{u:03d}", manager, u, "Webbläsare", now, 0, now)])

    clients = []
    cid = 0
    worker_clients = {}
    for uid_ in workers:
        mine = []
        for _ in range(sizes.clients_per_worker):
            cid += 1
            mine.append(cid)
            clients.append((cid, worker_unit[uid_], f"Fiktiv Brukare {cid}",
                            make_personal_number(rng.randint(1820, 1899), rng.randint(1, 12), rng.randint(1, 28),
                                                 rng.randint(100, 999)),
                            f"Bänkgatan {cid}", as_json({}), now))
        worker_clients[uid_] = mine
    w.rows("clients", ["id", "unit_id", "name", "personal_number", "address", "person_card", "updated_at"], clients)

    # Visits: a week behind (with records) and today + tomorrow ahead (for readiness).
    visits, vworkers, past = [], [], []
    vid = 0
    for day_offset in range(-sizes.days_back, 2):
        day = today + timedelta(days=day_offset)
        for uid_ in workers:
            for slot in range(sizes.visits_per_day):
                vid += 1
                start = (datetime.combine(day, time(7, 0), TZ) + timedelta(minutes=55 * slot)).astimezone(timezone.utc)
                client = worker_clients[uid_][slot % sizes.clients_per_worker]
                visits.append((vid, worker_unit[uid_], client, start, start + timedelta(minutes=40), False, now))
                vworkers.append((vid, uid_))
                if start + timedelta(minutes=40) < now:
                    past.append((vid, uid_, client, start))
    w.rows("visits", ["id", "unit_id", "client_id", "planned_start", "planned_end", "cancelled", "updated_at"], visits)
    w.rows("visit_workers", ["visit_id", "worker_id"], vworkers)

    # Events: the records of past visits, until there are sizes.events of them.
    events, registrations = [], []
    per_visit = ["visit_started", "intervention_recorded", "intervention_recorded", "visit_ended"]
    rng.shuffle(past)
    backfilled = set()
    for vid_, uid_, client, start in past:
        if len(events) >= sizes.events:
            break
        u = worker_unit[uid_]
        source = "backfill" if rng.random() < 0.02 else "device"
        self_reg = source == "device" and rng.random() < 0.03
        delay = timedelta(minutes=rng.choice([1, 2, 5, 10, 30] * 3 + [240, 900]))
        skewed = rng.random() < 0.01
        for i, kind in enumerate(per_visit):
            at = start + timedelta(minutes=10 * i)
            payload = {"visit_id": vid_}
            if kind == "intervention_recorded":
                payload.update({"intervention_id": 1, "status": "done"})
            if self_reg:
                payload["post_registration"] = True
            events.append((str(uuid.UUID(int=rng.getrandbits(128))), kind, source,
                           None if source == "backfill" else f"dphone-{uid_:05d}", uid_,
                           managers[u] if source == "backfill" else None, u, vid_, client, len(events), at,
                           _iso(at), at, 400.0 if skewed else 0.0, skewed, as_json(payload), uuid.uuid4().hex,
                           min(now, at + delay)))
        if source == "backfill":
            backfilled.add((vid_, uid_))
        registrations.append((vid_, uid_, start, start + timedelta(minutes=30), source, source, "k", "k"))
    while len(events) < sizes.events:  # the rest: record openings (access-logged offline), as phones send them
        vid_, uid_, client, start = rng.choice(past)
        at = start + timedelta(minutes=1)
        events.append((str(uuid.UUID(int=rng.getrandbits(128))), "client_record_opened", "device",
                       f"dphone-{uid_:05d}", uid_, None, worker_unit[uid_], None, client, len(events), at, _iso(at),
                       at, 0.0, False, as_json({"client_id": client, "view": "overview"}), uuid.uuid4().hex,
                       min(now, at + timedelta(minutes=rng.randint(1, 60)))))
    w.rows("events", ["id", "type", "source", "device_id", "user_id", "recorded_by", "unit_id", "visit_id",
                      "client_id", "device_seq", "occurred_at", "occurred_at_raw", "occurred_at_corrected",
                      "skew_seconds", "skew_flagged", "payload", "fingerprint", "received_at"], events)
    w.rows("registrations", ["visit_id", "worker_id", "started_at", "ended_at", "started_source", "ended_source",
                             "started_key", "ended_key"], registrations)

    # Access log: pulls and openings over the last month.
    access = []
    for n in range(sizes.access_rows):
        uid_ = rng.choice(workers)
        at = now - timedelta(seconds=rng.randint(0, 30 * 86400))
        offline = rng.random() < 0.2
        access.append((at, at, uid_, worker_unit[uid_], rng.choice(worker_clients[uid_]),
                       rng.choice(["sync_pull"] * 6 + ["open_overview", "open_medication_list", "read_client"]),
                       "denied" if rng.random() < 0.002 else "allowed", f"dphone-{uid_:05d}", offline))
    w.rows("access_log", ["at", "logged_at", "user_id", "unit_id", "client_id", "action", "outcome", "device_id",
                          "offline"], access)

    quarantined = []
    for n in range(sizes.quarantined):
        vid_, uid_, client, start = rng.choice(past)
        qid = str(uuid.UUID(int=rng.getrandbits(128)))
        quarantined.append((qid, f"dphone-{uid_:05d}", uid_, worker_unit[uid_], "visit_started",
                            as_json({"id": qid, "type": "visit_started", "payload": {"visit_id": vid_}}),
                            "before_lock_date", "Före spärrdatum.", 0.0, start,
                            "open" if rng.random() < 0.6 else "dismissed"))
    w.rows("quarantined_events", ["id", "device_id", "user_id", "unit_id", "type", "raw", "code", "message",
                                  "skew_seconds", "received_at", "state"], quarantined)

    # One unplanned outage per unit two days ago, with gaps on every route.
    outages, outage_units, gaps = [], [], []
    gid = 0
    routes = [("self", "short_outage_self"), ("admin", "worker_absent"), ("decision", "long_outage_needs_decision"),
              ("admin", "self_deadline_passed"), (None, "registered")]
    by_unit = {}
    for vid_, uid_, client, start in past:
        by_unit.setdefault(worker_unit[uid_], []).append((vid_, uid_))
    for u in range(1, sizes.units + 1):
        outages.append((u, "unplanned", "confirmed", f"TES nere, enhet {u}", now - timedelta(days=2, hours=8),
                        now - timedelta(days=2), now, now))
        outage_units.append((u, u))
        for vid_, uid_ in by_unit.get(u, [])[:sizes.gaps_per_unit]:
            gid += 1
            route, rule = rng.choice(routes)
            gaps.append((gid, u, vid_, uid_, u, "closed" if route is None else "open", route,
                         now + timedelta(hours=rng.randint(-30, 30)) if route == "self" else None, rule,
                         "Bänklucka", "Bench gap", as_json({}), now))
    w.rows("outages", ["id", "kind", "status", "title", "started_at", "ended_at", "created_at", "updated_at"], outages)
    w.rows("outage_units", ["outage_id", "unit_id"], outage_units)
    w.rows("outage_gaps", ["id", "outage_id", "visit_id", "worker_id", "unit_id", "state", "route", "deadline", "rule",
                           "explanation", "explanation_en", "inputs", "decided_at"], gaps)

    snapshots = []
    for u in range(1, sizes.units + 1):
        for d in range(1, sizes.snapshot_days):
            snapshots.append((u, today - timedelta(days=d), now - timedelta(days=d), per_unit,
                              rng.randint(50, 400), rng.randint(10, 60), rng.randint(0, 20), rng.randint(600, 40000),
                              rng.randint(0, 50)))
    w.rows("backlog_snapshots", ["unit_id", "day", "taken_at", "devices", "pending_records", "devices_with_pending",
                                 "silent_devices", "oldest_pending_seconds", "quarantined_open"], snapshots)

    for table in ("units", "users", "clients", "visits", "outages", "outage_gaps", "registrations",
                  "backlog_snapshots"):
        w.fix_sequence(table)
    w.fix_sequence("events", "seq")
    w.fix_sequence("access_log")
    session.commit()
    if pg:  # the state autovacuum keeps a live database in: statistics and the visibility map
        with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {"now": now, "managers": managers, "units": sizes.units, "devices": len(devices),
            "events": len(events), "access_rows": len(access), "registrations": len(registrations),
            "visits": len(visits), "clients": len(clients), "gaps": len(gaps),
            "backfilled_pairs": len(backfilled)}
