"""What SQLite and PostgreSQL spell differently, in one place: INSERT … ON CONFLICT, lists as one parameter, the
batch inserts of the push and the import, and the per-worker lock."""
import json

from sqlalchemy import ARRAY, any_, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db

WORKER_LOCK_NAMESPACE = 0x4876  # "Hv": first key of the per-worker advisory lock
_LOCK_WORKER = {"postgresql": text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                # SQLite: the first write takes the database's one write lock (waiting up to busy_timeout) before
                # anything is read, so what follows reads what no other writer can change before the commit
                "sqlite": text("UPDATE users SET active = active WHERE id = :id AND :ns = :ns")}


def insert(table):
    """An INSERT that supports ON CONFLICT on the current engine (both dialects spell it alike)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def lock_worker(user_id):
    """Serialise one worker's writes until the transaction ends. Two phones of one worker, a retry racing its own
    first attempt, or a backfill touch the same record ids and projection rows in any order; without this they
    can deadlock (found by the soak test) or answer as no serial order would. PostgreSQL: an advisory lock
    (re-entrant within a transaction); SQLite: its one writer's lock, for the rest of the transaction."""
    statement = _LOCK_WORKER[db.session.get_bind().dialect.name]
    db.session.execute(statement, {"ns": WORKER_LOCK_NAMESPACE, "id": user_id})


def among(name, postgresql):
    """`column <among(name)>`: membership in a list given as ONE parameter, so a statement's text is the same for
    a batch of one or of a hundred (psycopg parsed a text of 100 placeholders anew on every push): PostgreSQL an
    array (`= ANY`), SQLite a JSON array (json_each). `ids(values, postgresql)` makes the parameter."""
    return f"= ANY(:{name})" if postgresql else f"IN (SELECT value FROM json_each(:{name}))"


def ids(values, postgresql):
    return sorted(values) if postgresql else json.dumps(sorted(values))


def member(column, values):
    """`column IN (values)` as an expression: on PostgreSQL one array parameter (`= ANY`; psycopg parsed a
    statement of 2,000 placeholders anew each time, a fifth of a re-import), on SQLite the plain IN."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def _from_recordset(table, columns, rows):
    """PostgreSQL: `INSERT INTO table (columns) SELECT … FROM jsonb_to_recordset(:rows)` and its parameter — the
    rows travel as one JSON parameter, so the statement's text does not grow with the batch (a multi-row VALUES
    is parsed anew by psycopg each time, an executemany goes row by row)."""
    typed = ", ".join(f"{c} {table.c[c].type.compile(dialect=postgresql.dialect())}" for c in columns)
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} "
                 f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({typed})")
    return statement, {"rows": json.dumps(rows, default=_json_value, separators=(",", ":"))}


def insert_new(table, rows, returning):
    """INSERT rows … ON CONFLICT (id) DO NOTHING RETURNING `returning` in one statement whose text does not grow
    with the batch (the push: a multi-row VALUES of 100 × 18 parameters was a fifth of a push of 100); SQLite
    takes SQLAlchemy's executemany with RETURNING. Returns the rows RETURNING gave (conflicts give none)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return db.session.execute(insert(table).on_conflict_do_nothing(index_elements=["id"])
                                  .returning(*(table.c[name] for name in returning)), rows).all()
    statement, params = _from_recordset(table, list(rows[0]), rows)
    return db.session.execute(text(f"{statement} ON CONFLICT (id) DO NOTHING RETURNING {', '.join(returning)}"),
                              params).all()


def insert_rows(table, rows, ids=False):
    """New rows of one table (dicts with the same keys) in one statement (an import writes millions), and with
    `ids` their new ids in row order: on PostgreSQL drawn from the table's sequence first, then the rows as in
    insert_new; SQLite: executemany."""
    if not rows:
        return []
    if db.session.get_bind().dialect.name != "postgresql":
        if ids:
            return db.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                      rows).scalars().all()
        db.session.execute(insert(table), rows)
        return []
    new = []
    if ids:
        new = db.session.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM "
                                      "generate_series(1, :n)"), {"table": table.name, "n": len(rows)}).scalars().all()
        rows = [dict(row, id=id_) for row, id_ in zip(rows, new)]
    defaults = {c.name: c.default.arg if c.default.is_scalar else c.default.arg(None) for c in table.columns
                if c.name not in rows[0] and c.default is not None and not c.default.is_sequence}
    if defaults:
        rows = [dict(row, **defaults) for row in rows]
    statement, params = _from_recordset(table, list(rows[0]), rows)
    db.session.execute(text(statement), params)
    return new


def _json_value(value):
    return value.isoformat()  # datetimes (aware, so PostgreSQL reads the instant), dates
