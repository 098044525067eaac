"""A large fictitious municipality for load: units of 100 workers, one phone each, today's visits, and
simulated phones that record what a shift produces (visit started, interventions, note, visit ended).

Bulk-inserted with Core (explicit ids on an empty database) so 1,000 workers are ready in seconds.
Everyone is invented; personal numbers are born in the 1800s, like the routines' own test patient.

Phones push what the PWA (app 1.2.0) pushes: events sealed v2 with one session key per phone, named once
per request in `keys`, and the body gzipped — `municipality.wire(body)` gives those bytes with their
headers; `municipality.dumps(body)` the JSON (uncompressed, for a target that cannot inflate).
"""
import gzip
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import text

from server.auth import issue_token
from server.extensions import db
from server.models import CarePlanIntervention, Client, Device, Unit, User, Visit, visit_interventions, visit_workers
from server.sealing import SessionSealer, seal
from sync.personnummer import make as make_personal_number

WORKERS_PER_UNIT = 100
CLIENTS_PER_WORKER = 2
INTERVENTIONS_PER_CLIENT = 4
# Chromium's CompressionStream('gzip') compresses at zlib's default level; so do these simulated phones.
GZIP_LEVEL = 6
GZIP_HEADERS = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
TITLES = [("DUSCH", "Dusch", 25), ("FRUKOST", "Frukost", 20), ("LM", "Läkemedelsöverlämning", 10),
          ("TILLSYN", "Tillsyn", 10), ("MIDDAG", "Middag", 25), ("KVALL", "Kvällsrutin", 20)]


@dataclass
class Phone:
    """One worker's phone: its tokens and today's visits (id, client id, intervention ids)."""

    device_id: str
    user_id: int
    token: str
    push_token: str
    visits: list
    seq: int = 0
    rng: random.Random = field(default_factory=random.Random)
    _sealer: tuple = field(default=None, init=False, repr=False, compare=False)  # (outbox public key, its sealer)

    def sealer(self, outbox_public_key):
        """The phone's v2 session sealer (one ephemeral key, as between an unlock and the next lock)."""
        if self._sealer is None or self._sealer[0] is not outbox_public_key:
            self._sealer = (outbox_public_key, SessionSealer(outbox_public_key))
        return self._sealer[1]

    def event(self, type_, payload, occurred_at):
        self.seq += 1
        return {"id": str(uuid.uuid4()), "type": type_, "occurred_at": occurred_at.isoformat(),
                "device_seq": self.seq, "payload": payload}

    def shift_events(self, count, now):
        """`count` events the way a shift makes them: per visit start, 1–3 interventions, a note, end."""
        events = []
        t = now - timedelta(hours=9)
        step = timedelta(hours=9) / max(count, 1)
        i = 0
        while len(events) < count:
            visit_id, client_id, interventions = self.visits[i % len(self.visits)]
            i += 1
            per_visit = [("visit_started", {"visit_id": visit_id})]
            for iid in interventions[:self.rng.randint(1, 3)]:
                per_visit.append(("intervention_recorded", {"visit_id": visit_id, "intervention_id": iid,
                                                            "status": "done"}))
            per_visit.append(("note_added", {"client_id": client_id, "visit_id": visit_id,
                                             "text": "Brukaren pigg, åt bra. Inget att anmärka."}))
            per_visit.append(("visit_ended", {"visit_id": visit_id}))
            for type_, payload in per_visit:
                t += step
                events.append(self.event(type_, payload, t))
        return events[:count]

    def push_request(self, events, outbox_public_key, now=None):
        """(bytes, headers) of a push exactly as the PWA sends it: sealed v2, gzipped, with the push token."""
        data, headers = wire(self.body(events, outbox_public_key, now))
        return data, dict(headers, Authorization=f"Bearer {self.push_token}")

    def body(self, events, outbox_public_key=None, now=None, sealing=2):
        """The push request a phone sends: with a key, sealed as the PWA does (v2: the phone's session key
        named in `keys`; sealing=1: one ephemeral key per event, as app ≤ 1.1 did); without, plain events."""
        extra = {}
        if outbox_public_key is None:
            items = events
        elif sealing == 1:
            items = [{"id": e["id"], "sealed": seal(outbox_public_key, e)} for e in events]
        else:
            sealer = self.sealer(outbox_public_key)
            extra = {"keys": {"0": sealer.epk}}
            items = [{"id": e["id"], "k": "0", "sealed": sealer.seal(e)} for e in events]
        clock = (now or datetime.now(timezone.utc)).isoformat()
        return {"protocol": 1, "device_id": self.device_id, **extra, "events": items,
                "status": {"pending": len(events), "device_clock": clock, "app_version": "bench",
                           "oldest_pending_at": events[0]["occurred_at"] if events else None}}


def build(workers, visits_per_worker=8, seed=1802):
    """Create `workers` workers with phones and `visits_per_worker` visits today; returns their Phones."""
    rng = random.Random(seed)
    tz = ZoneInfo("Europe/Stockholm")
    now = datetime.now(timezone.utc)
    day = now.astimezone(tz).date()
    units = (workers + WORKERS_PER_UNIT - 1) // WORKERS_PER_UNIT
    password = "pbkdf2:sha256:1000$bench$" + "0" * 64  # nobody logs in with a password here
    unit_rows = [{"id": u + 1, "code": f"B{u + 1:03d}", "name": f"Hemtjänst Bänk {u + 1}"} for u in range(units)]
    users, devices, clients, cpis, visits, vw, vi = [], [], [], [], [], [], []
    phones_visits = {}
    client_id = cpi_id = visit_id = 0
    for w in range(workers):
        uid = w + 1
        unit_id = w // WORKERS_PER_UNIT + 1
        users.append({"id": uid, "username": f"bench{uid}", "display_name": f"Bänk Arbetare {uid}", "role": "worker",
                      "unit_id": unit_id, "password_hash": password, "active": True})
        devices.append({"id": f"bench-phone-{uid:05d}", "user_id": uid, "unit_id": unit_id, "name": "Bänktelefon",
                        "enrolled_at": now, "token_generation": 0})
        own_clients = []
        for _ in range(CLIENTS_PER_WORKER):
            client_id += 1
            clients.append({"id": client_id, "unit_id": unit_id, "name": f"Fiktiv Brukare {client_id}",
                            "personal_number": make_personal_number(rng.randint(1820, 1899), rng.randint(1, 12),
                                                                    rng.randint(1, 28), rng.randint(100, 999)),
                            "address": f"Bänkgatan {client_id}", "phone": "070-100 00 00", "key_reference": "B-1",
                            "key_note": "Nyckelgömma", "person_card": {"relatives": [], "notes": "Fiktiv."},
                            "care_plan_summary": "Stöd hemma.", "medication_list": None, "updated_at": now})
            ids = []
            for code, title, minutes in rng.sample(TITLES, INTERVENTIONS_PER_CLIENT):
                cpi_id += 1
                cpis.append({"id": cpi_id, "client_id": client_id, "code": code, "title": title,
                             "planned_minutes": minutes, "description": title})
                ids.append(cpi_id)
            own_clients.append((client_id, ids))
        mine = []
        for slot in range(visits_per_worker):
            visit_id += 1
            cid, ids = own_clients[slot % len(own_clients)]
            start = (datetime.combine(day, time(7, 0), tz) + timedelta(minutes=50 * slot)).astimezone(timezone.utc)
            visits.append({"id": visit_id, "unit_id": unit_id, "client_id": cid, "planned_start": start,
                           "planned_end": start + timedelta(minutes=40), "instructions": None, "cancelled": False,
                           "updated_at": now})
            vw.append({"visit_id": visit_id, "worker_id": uid})
            planned = ids[:3]
            vi.extend({"visit_id": visit_id, "intervention_id": i} for i in planned)
            mine.append((visit_id, cid, planned))
        phones_visits[uid] = mine
    for table, rows in ((Unit.__table__, unit_rows), (User.__table__, users), (Device.__table__, devices),
                        (Client.__table__, clients), (CarePlanIntervention.__table__, cpis),
                        (Visit.__table__, visits), (visit_workers, vw), (visit_interventions, vi)):
        for i in range(0, len(rows), 5000):
            db.session.execute(table.insert(), rows[i:i + 5000])
    if db.engine.dialect.name == "postgresql":
        for table in ("units", "users", "clients", "care_plan_interventions", "visits"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT MAX(id) FROM {table}))"))
    db.session.commit()
    user_by_id = {u.id: u for u in db.session.query(User)}
    phones = []
    for device in db.session.query(Device).order_by(Device.id):
        user = user_by_id[device.user_id]
        phones.append(Phone(device.id, user.id, issue_token(user, device), issue_token(user, device, scope="push"),
                            phones_visits[user.id], rng=random.Random(seed + user.id)))
    return phones


def dumps(body):
    return json.dumps(body, separators=(",", ":")).encode()


def wire(body):
    """(bytes, headers) of a push as the PWA sends it: the JSON gzipped, `Content-Encoding: gzip`."""
    return gzip.compress(dumps(body), compresslevel=GZIP_LEVEL, mtime=0), dict(GZIP_HEADERS)
