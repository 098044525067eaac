"""A fictitious municipality for demos and tests: two units, staff, ~40 clients, visit schedules.

Every person is invented; personal numbers are born in the 1800s (valid format, impossible person),
as the routines' own test patient "Fiktiv Kvinna 18020202-0202".
"""
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from sync.personnummer import make as make_personal_number

from .extensions import db
from .models import CarePlanIntervention, Client, Unit, User, Visit

FIRST = ["Alva", "Bertil", "Cecilia", "David", "Ebba", "Folke", "Greta", "Hugo", "Ingrid", "Jonas", "Karin",
         "Lennart", "Maja", "Nils", "Olga", "Per", "Ragnhild", "Sven", "Tora", "Ulf", "Vera", "Wilhelm"]
LAST = ["Andersson", "Berg", "Carlsson", "Dahl", "Ek", "Fors", "Gran", "Holm", "Isaksson", "Jansson", "Kvist",
        "Lind", "Moberg", "Nord", "Ohlsson", "Palm", "Rask", "Sjöberg", "Torn", "Ulander", "Wik", "Åström"]
STREETS = ["Björkvägen", "Storgatan", "Kyrkogatan", "Åvägen", "Skolgatan", "Ängsvägen", "Tallstigen", "Parkgatan"]
CATALOGUE = [("DUSCH", "Dusch", 25, "Hjälp med dusch, torka och smörja fötterna."),
             ("FRUKOST", "Frukost", 20, "Förbered frukost, sällskap vid måltiden."),
             ("LM", "Läkemedelsöverlämning", 10, "Överlämna dosett enligt läkemedelslistan; kontrollera att den tas."),
             ("STAD", "Städning", 45, "Dammsuga, våttorka golv i kök och badrum."),
             ("INKOP", "Inköp", 40, "Handla enligt inköpslista; kvitto och växel i kuvertet."),
             ("TILLSYN", "Tillsyn", 10, "Se till att allt är bra; trygghetslarm på."),
             ("PAKLAD", "Påklädning", 15, "Hjälp med påklädning och stödstrumpor."),
             ("MIDDAG", "Middag", 25, "Värm portionsmat, servera, diska."),
             ("PROMENAD", "Promenad", 30, "Promenad med rollator om vädret tillåter."),
             ("KVALL", "Kvällsrutin", 20, "Hjälp inför natten, larmknapp på handleden.")]
MEDICINES = [("Alvedon", "500 mg, 1 tablett", ["08:00", "20:00"]), ("Waran", "2,5 mg enligt ordination", ["18:00"]),
             ("Metformin", "500 mg, 1 tablett", ["08:00", "18:00"]), ("Furix", "40 mg, 1 tablett", ["08:00"]),
             ("Sertralin", "50 mg, 1 tablett", ["08:00"]), ("Omeprazol", "20 mg, 1 kapsel", ["07:30"])]
UNITS = [("NORR", "Hemtjänst Norr"), ("SODER", "Hemtjänst Söder")]
WORKERS_PER_UNIT = 6
CLIENTS_PER_UNIT = 20
DEMO_PASSWORD = "demo"


def _name(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _phone(rng):
    return f"070-{rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"  # 070-1xx: reserved range


def create_people(rng, hash_method=None):
    """Units, users (worker1…, admin1…, manager1…) and clients with care plans; only once."""
    password = generate_password_hash(DEMO_PASSWORD, **({"method": hash_method} if hash_method else {}))
    units = []
    for u, (code, name) in enumerate(UNITS):
        unit = Unit(code=code, name=name)
        db.session.add(unit)
        db.session.flush()
        units.append(unit)
        for i in range(WORKERS_PER_UNIT):
            n = u * WORKERS_PER_UNIT + i + 1
            db.session.add(User(username=f"worker{n}", display_name=_name(rng), role="worker", unit_id=unit.id,
                                password_hash=password))
        db.session.add(User(username=f"admin{u + 1}", display_name=_name(rng), role="admin", unit_id=unit.id,
                            password_hash=password))
        db.session.add(User(username=f"manager{u + 1}", display_name=_name(rng), role="manager", unit_id=unit.id,
                            password_hash=password))
        for c in range(CLIENTS_PER_UNIT):
            first = u == 0 and c == 0
            client = Client(
                unit_id=unit.id,
                name="Fiktiv Kvinna" if first else _name(rng),
                personal_number="18020202-0202" if first else make_personal_number(
                    rng.randint(1820, 1899), rng.randint(1, 12), rng.randint(1, 28), rng.randint(100, 999)),
                address=f"{rng.choice(STREETS)} {rng.randint(1, 60)}, {'Norrby' if u == 0 else 'Söderby'}",
                phone=_phone(rng), key_reference=f"{code[0]}-{c + 1:02d}",
                key_note=rng.choice(["Nyckelgömma vid dörren, kod i nyckelskåpet", "Nyckel i kontorets nyckelskåp",
                                     "Brukaren öppnar själv", "Digitalt lås, reservnyckel i skåp 3"]),
                person_card={
                    "relatives": [{"name": _name(rng), "relation": rng.choice(["dotter", "son", "make", "maka",
                                                                               "granne"]),
                                   "phone": _phone(rng)} for _ in range(rng.randint(1, 2))],
                    "responsible_nurse": {"name": _name(rng), "phone": _phone(rng)},
                    "notes": rng.choice(["Hörapparat på vänster öra.", "Allergisk mot nötter.",
                                         "Katt i lägenheten, stäng dörren.", "Vill bli kallad vid förnamn."]),
                },
                care_plan_summary=rng.choice(["Stöd för att kunna bo kvar hemma tryggt.",
                                              "Hjälp morgon och kväll; anhörig handlar på helger.",
                                              "Rehabiliterande förhållningssätt: låt brukaren göra själv."]),
                medication_list=[{"name": m, "dose": d, "times": t, "note": "Dosett, signeras på listan"}
                                 for m, d, t in rng.sample(MEDICINES, rng.randint(1, 3))] if c % 2 == 0 else None,
            )
            db.session.add(client)
            db.session.flush()
            for code_, title, minutes, description in rng.sample(CATALOGUE, rng.randint(3, 5)):
                db.session.add(CarePlanIntervention(client_id=client.id, code=code_, title=title,
                                                    planned_minutes=minutes, description=description))
    db.session.flush()
    return units


def schedule_day(day: date, tz, rng):
    """Eight visits per worker on `day` (07:30–15:30 local); about one in six is double-staffed."""
    for unit in db.session.scalars(select(Unit).order_by(Unit.id)):
        workers = db.session.scalars(select(User).where(User.unit_id == unit.id, User.role == "worker")
                                     .order_by(User.id)).all()
        clients = db.session.scalars(select(Client).where(Client.unit_id == unit.id).order_by(Client.id)).all()
        for w_index, worker in enumerate(workers):
            for slot in range(8):
                start_local = datetime.combine(day, time(7, 30), tz) + timedelta(minutes=60 * slot)
                start = start_local.astimezone(timezone.utc)
                client = clients[(w_index * 3 + slot * 5 + day.toordinal()) % len(clients)]
                planned = rng.sample(client.interventions, min(len(client.interventions), rng.randint(1, 3)))
                minutes = max(15, sum(i.planned_minutes for i in planned))
                visit = Visit(unit_id=unit.id, client_id=client.id, planned_start=start,
                              planned_end=start + timedelta(minutes=min(minutes, 55)),
                              instructions=rng.choice([None, "Ring på två gånger.", "Ta med handskar.",
                                                       "Kontrollera kylskåpet."]))
                visit.interventions = planned
                visit.workers = [worker]
                if slot == 2 and w_index % 2 == 0 and w_index + 1 < len(workers):
                    visit.workers.append(workers[w_index + 1])  # double staffing: a transfer needs two
                db.session.add(visit)


def seed(now=None, days_before=1, days_after=3, seed_value=1802, hash_method=None):
    """Create the demo municipality if missing, then make sure every day in the range has a schedule."""
    tz = ZoneInfo("Europe/Stockholm")
    rng = random.Random(seed_value)
    created = False
    if db.session.scalar(select(func.count()).select_from(Unit)) == 0:
        create_people(rng, hash_method)
        created = True
    today = (now or datetime.now(timezone.utc)).astimezone(tz).date()
    added = []
    for offset in range(-days_before, days_after + 1):
        day = today + timedelta(days=offset)
        lo = datetime.combine(day, time(0), tz).astimezone(timezone.utc)
        hi = lo + timedelta(days=1)
        exists = db.session.scalar(select(func.count()).select_from(Visit)
                                   .where(Visit.planned_start >= lo, Visit.planned_start < hi))
        if not exists:
            schedule_day(day, tz, random.Random(seed_value + day.toordinal()))
            added.append(day.isoformat())
    db.session.commit()
    return created, added

