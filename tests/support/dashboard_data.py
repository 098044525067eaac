"""A small crafted unit for the dashboard tests: every figure on the dashboards is known in advance.

The demo municipality stays in the database (its units are the "other unit"); this adds "Hemtjänst Åby"
with its own manager, workers, clients, visits and phones, all relative to one `now`.
"""
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from werkzeug.security import generate_password_hash

from server.extensions import db
from server.models import (AccessLog, Client, Device, Event, QuarantinedEvent, Registration, Unit, User, Visit,
                           utcnow)

PASSWORD = "demo"


@dataclass
class Crafted:
    now: datetime
    unit: Unit
    other_unit: Unit
    manager: User
    admin: User
    workers: list
    clients: list
    other_client: Client
    other_worker: User
    visits: dict = field(default_factory=dict)


def add_user(unit, username, display_name, role="worker"):
    user = User(username=username, display_name=display_name, role=role, unit_id=unit.id,
                password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"), active=True)
    db.session.add(user)
    db.session.flush()
    return user


def add_device(user, device_id, *, now, pending=None, oldest_pending=None, seen=None, pulled=None, covers=None,
               revoked=False, app_version="1.2.0"):
    """A phone with a status block; times are offsets from now (timedelta) or None."""
    device = Device(id=device_id, user_id=user.id, unit_id=user.unit_id, name=f"Telefon {device_id}",
                    enrolled_at=now - timedelta(days=30), token_generation=0,
                    status_pending=pending,
                    status_oldest_pending_at=None if oldest_pending is None else now - oldest_pending,
                    last_seen_at=None if seen is None else now - seen,
                    last_pull_at=None if pulled is None else now - pulled,
                    copy_covers_until=None if covers is None else now + covers,
                    status_app_version=app_version, revoked_at=now - timedelta(hours=1) if revoked else None)
    db.session.add(device)
    return device


def add_visit(unit, client, workers, start, minutes=30):
    visit = Visit(unit_id=unit.id, client_id=client.id, planned_start=start,
                  planned_end=start + timedelta(minutes=minutes), instructions="Testbesök", cancelled=False,
                  updated_at=start)
    visit.workers = list(workers)
    db.session.add(visit)
    db.session.flush()
    return visit


def add_event(user, *, type_="visit_started", visit=None, client_id=None, occurred, received, source="device",
              skew_flagged=False, payload=None, device_id=None):
    body = dict(payload or {})
    if visit is not None:
        body.setdefault("visit_id", visit.id)
    event = Event(id=str(uuid.uuid4()), type=type_, source=source, device_id=device_id, user_id=user.id,
                  unit_id=user.unit_id, visit_id=None if visit is None else visit.id, client_id=client_id,
                  device_seq=1, occurred_at=occurred, occurred_at_raw=occurred.isoformat(),
                  occurred_at_corrected=occurred, skew_seconds=400.0 if skew_flagged else 0.0,
                  skew_flagged=skew_flagged, payload=body, fingerprint=uuid.uuid4().hex, received_at=received)
    db.session.add(event)
    return event


def add_quarantined(user, *, visit=None, state="open", received=None):
    raw = {"id": str(uuid.uuid4()), "type": "visit_started", "occurred_at": utcnow().isoformat(),
           "payload": {"visit_id": visit.id} if visit else {}}
    db.session.add(QuarantinedEvent(id=raw["id"], device_id=None, user_id=user.id, unit_id=user.unit_id,
                                    type="visit_started", raw=raw, code="before_lock_date",
                                    message="Före spärrdatum.", skew_seconds=0.0,
                                    received_at=received or utcnow(), state=state))


def add_access(user, client, *, at, action="open_overview", outcome="allowed", offline=False, device_id=None,
               unit_id=None):
    db.session.add(AccessLog(at=at, logged_at=at, user_id=user.id, unit_id=unit_id or user.unit_id,
                             client_id=None if client is None else client.id, action=action, outcome=outcome,
                             offline=offline, device_id=device_id))


def build(now=None):
    """The unit, its people and clients; phones and records are added by each test."""
    now = now or utcnow().replace(microsecond=0)
    unit = Unit(code="ABY", name="Hemtjänst Åby")
    db.session.add(unit)
    db.session.flush()
    other_unit = db.session.query(Unit).filter(Unit.id != unit.id).order_by(Unit.id).first()
    manager = add_user(unit, "chef_aby", "Åsa Öberg", "manager")
    admin = add_user(unit, "admin_aby", "Örjan Ärlig", "admin")
    workers = [add_user(unit, f"aby{n}", name) for n, name in
               enumerate(["Märta Åkesson", "Björn Ängel", "Gun Östlund", "Kalle Ek"], 1)]
    clients = []
    for n, (name, pnr) in enumerate([('Fiktiv "Kvinna"; Åby', "18020202-0202"),
                                     ("=Fiktiv Man", "18010101-0109"),
                                     ("Ärla Öst", "18030303-0307")], 1):
        c = Client(unit_id=unit.id, name=name, personal_number=pnr, address=f"Testgatan {n}, Åby",
                   person_card={}, medication_list=None, updated_at=now)
        db.session.add(c)
        clients.append(c)
    db.session.flush()
    other_client = db.session.query(Client).filter(Client.unit_id == other_unit.id).order_by(Client.id).first()
    other_worker = db.session.query(User).filter(User.unit_id == other_unit.id, User.role == "worker") \
        .order_by(User.id).first()
    db.session.commit()
    return Crafted(now=now, unit=unit, other_unit=other_unit, manager=manager, admin=admin, workers=workers,
                   clients=clients, other_client=other_client, other_worker=other_worker)


def register(visit, worker, started, ended, source="device"):
    db.session.add(Registration(visit_id=visit.id, worker_id=worker.id, started_at=started, ended_at=ended,
                                started_source=source, ended_source=source, started_key="k", ended_key="k"))


UTC = timezone.utc
