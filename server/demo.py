"""A fictitious municipality for demos and tests, seeded through the import (docs/import/): two units, staff,
~40 clients with care plans and medication lists, and eight visits a day per worker.

The demo *is* an example import: `rows()` builds the rows a planning system would send (the integration API's
JSON), and `seed` runs them through `server.importer.run_import` like the other three doors — so every
`make run` exercises the import. Seeding again imports the same people (nothing changes) and the schedules of
days that have none yet.

Every person is invented; personal numbers are born in the 1800s (valid format, impossible person), as the
routines' own test patient "Fiktiv Kvinna 18020202-0202".
"""
import random
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from sync.personnummer import make as make_personal_number

from .extensions import db
from .importer import run_import
from .importer.apply import NO_PASSWORD
from .importer.read import json_tables
from .models import User, Visit

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
TZ = ZoneInfo("Europe/Stockholm")


def _name(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _phone(rng):
    return f"070-{rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"  # 070-1xx: reserved range


def people(rng):
    """The import rows of the units, staff (worker1…, admin1…, manager1…), clients, care plans and medication
    lists, and per unit its workers' and clients' ids (with each client's intervention codes) for the schedule."""
    out = {"units": [], "staff": [], "clients": [], "care_plans": [], "medications": []}
    by_unit = []
    for u, (code, name) in enumerate(UNITS):
        out["units"].append({"external_id": code, "name": name})
        workers, clients = [], []
        staff = [(f"worker{u * WORKERS_PER_UNIT + i + 1}", "worker") for i in range(WORKERS_PER_UNIT)]
        for username, role in staff + [(f"admin{u + 1}", "admin"), (f"manager{u + 1}", "manager")]:
            out["staff"].append({"external_id": username, "unit": code, "username": username, "name": _name(rng),
                                 "role": role})
            if role == "worker":
                workers.append(username)
        for c in range(CLIENTS_PER_UNIT):
            first = u == 0 and c == 0
            ext = f"{code}-K{c + 1:02d}"
            client = {
                "external_id": ext, "unit": code,
                "name": "Fiktiv Kvinna" if first else _name(rng),
                "personal_number": "18020202-0202" if first else make_personal_number(
                    rng.randint(1820, 1899), rng.randint(1, 12), rng.randint(1, 28), rng.randint(100, 999)),
                "address": f"{rng.choice(STREETS)} {rng.randint(1, 60)}, {'Norrby' if u == 0 else 'Söderby'}",
                "phone": _phone(rng), "key_ref": f"{code[0]}-{c + 1:02d}",
                "key_note": rng.choice(["Nyckelgömma vid dörren, kod i nyckelskåpet", "Nyckel i kontorets nyckelskåp",
                                        "Brukaren öppnar själv", "Digitalt lås, reservnyckel i skåp 3"]),
                "relatives": "|".join(
                    f"{_name(rng)}, {rng.choice(['dotter', 'son', 'make', 'maka', 'granne'])}, {_phone(rng)}"
                    for _ in range(rng.randint(1, 2))),
                "responsible_nurse": f"{_name(rng)}, {_phone(rng)}",
                "notes": rng.choice(["Hörapparat på vänster öra.", "Allergisk mot nötter.",
                                     "Katt i lägenheten, stäng dörren.", "Vill bli kallad vid förnamn."]),
                "care_plan_summary": rng.choice(["Stöd för att kunna bo kvar hemma tryggt.",
                                                 "Hjälp morgon och kväll; anhörig handlar på helger.",
                                                 "Rehabiliterande förhållningssätt: låt brukaren göra själv."]),
            }
            out["clients"].append(client)
            if c % 2 == 0:
                out["medications"] += [{"client": ext, "drug": m, "dose": d, "times": t,
                                        "note": "Dosett, signeras på listan"}
                                       for m, d, t in rng.sample(MEDICINES, rng.randint(1, 3))]
            plan = rng.sample(CATALOGUE, rng.randint(3, 5))
            out["care_plans"] += [{"client": ext, "intervention": code_, "title": title, "planned_minutes": minutes,
                                   "description": description} for code_, title, minutes, description in plan]
            clients.append((ext, [(code_, minutes) for code_, _, minutes, _ in plan]))
        by_unit.append((code, workers, clients))
    return out, by_unit


def schedule_day(day, by_unit, rng):
    """Eight visits per worker on `day` (07:30–15:30 local), as import rows. About one in six is double-staffed:
    at the third slot an even-numbered worker's colleague comes along instead of making a visit of their own."""
    rows = []
    for code, workers, clients in by_unit:
        for w_index, worker in enumerate(workers):
            for slot in range(8):
                start = datetime.combine(day, time(7, 30), TZ) + timedelta(minutes=60 * slot)
                client, plan = clients[(w_index * 3 + slot * 5 + day.toordinal()) % len(clients)]
                planned = rng.sample(plan, min(len(plan), rng.randint(1, 3)))
                minutes = max(15, sum(m for _, m in planned))
                instructions = rng.choice([None, "Ring på två gånger.", "Ta med handskar.", "Kontrollera kylskåpet."])
                staff = [worker]
                if slot == 2 and w_index % 2 == 0 and w_index + 1 < len(workers):
                    staff.append(workers[w_index + 1])  # double staffing: a transfer needs two
                elif slot == 2 and w_index % 2 == 1:
                    continue  # this worker is at the colleague's double-staffed visit
                rows.append({"external_id": f"{code}-{day:%Y%m%d}-{worker}-{slot + 1}", "client": client,
                             "start": start.isoformat(), "end": (start + timedelta(minutes=min(minutes, 55))).isoformat(),
                             "staff": staff, "interventions": [c for c, _ in planned],
                             "instructions": instructions or ""})
    return rows


def seed(now=None, days_before=1, days_after=3, seed_value=1802, hash_method=None, progress=None):
    """Import the demo municipality (unchanged if it is there) and the schedule of every day in the range that
    has no visits yet; the demo staff who have no password yet get "demo". Returns (created, days added)."""
    body, by_unit = people(random.Random(seed_value))
    today = (now or datetime.now(TZ)).astimezone(TZ).date()
    added = []
    body["visits"] = []
    for offset in range(-days_before, days_after + 1):
        day = today + timedelta(days=offset)
        lo = datetime.combine(day, time(0), TZ).astimezone(timezone.utc)
        exists = db.session.scalar(select(func.count()).select_from(Visit).where(
            Visit.planned_start >= lo, Visit.planned_start < lo + timedelta(days=1)))
        if not exists:
            body["visits"] += schedule_day(day, by_unit, random.Random(seed_value + day.toordinal()))
            added.append(day.isoformat())
    outcome = run_import(lambda: json_tables(body), apply=True, actor={"name": "flask demo"},
                         **({"progress": progress} if progress else {}))
    if not outcome.ok:
        db.session.rollback()
        raise RuntimeError("The demo import was refused: " + "; ".join(str(p) for p in outcome.problems[:5]))
    created = outcome.diff.get("units", {}).get("created", 0) > 0
    password = generate_password_hash(DEMO_PASSWORD, **({"method": hash_method} if hash_method else {}))
    for user in db.session.scalars(select(User).where(User.username.in_([s["username"] for s in body["staff"]]),
                                                      User.password_hash == NO_PASSWORD)):
        user.password_hash = password
    db.session.commit()
    return created, added
