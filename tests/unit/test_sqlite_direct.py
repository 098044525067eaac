"""SQLite's hot path (server.dbutil): statements run on the sqlite3 connection itself must store and read values
exactly as SQLAlchemy does, and the direct push's writers take turns — threads of a process and processes alike —
in a write transaction that is rolled back unless committed."""
import multiprocessing
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, create_engine, insert, text

from server.dbutil import SqliteStatement, sqlite_write_transaction, sqlite_writer
from server.models import Json, UTCDateTime

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime),
               Column("doc", Json), Column("flag", Boolean), Column("ratio", Float), Column("name", String(20)))
WAIT = 10  # seconds at most for what must happen; the tests never sleep to make their point


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _row(i):
    return {"id": i, "at": datetime(2026, 11, 24, 6, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1))),
            "doc": {"visit_id": 7, "text": "Åt frukost", "tags": [1, None]}, "flag": True, "ratio": 0.25,
            "name": "Kim"}


def test_a_row_stored_through_sqlite3_is_stored_and_read_back_as_sqlalchemy_does(engine):
    with engine.begin() as conn:
        conn.execute(insert(things), [_row(1)])  # SQLAlchemy's own way
        SqliteStatement(things.insert(), column_keys=list(_row(0))).executemany(conn, [_row(2)])
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT at, doc, flag, ratio, name FROM things ORDER BY id").all()
        assert stored[0] == stored[1]  # the same bytes in the file
        read = SqliteStatement(text("SELECT id, at, doc FROM things ORDER BY id").columns(at=UTCDateTime, doc=Json))
        (_, at1, doc1), (_, at2, doc2) = read.all(conn, {})
    assert at1 == at2 == _row(0)["at"] and at2.tzinfo == timezone.utc  # aware, in UTC
    assert doc1 == doc2 == _row(0)["doc"]


def test_a_row_converted_beforehand_with_one_value_set_later_is_stored_as_if_converted_whole(engine):
    """The direct push converts its rows before the writer's lock and sets the worker's unit under it."""
    stmt = SqliteStatement(things.insert(), column_keys=list(_row(0)))
    later = dict(_row(2), at=datetime(2026, 11, 25, 1, 2, 3, tzinfo=timezone.utc), ratio=0.5)
    args = stmt.args(_row(2))
    args = stmt.with_value(stmt.with_value(args, "at", later["at"]), "ratio", later["ratio"])
    assert args == stmt.args(later) != stmt.args(_row(2))
    with engine.begin() as conn:
        stmt.executemany_args(conn, [args])
        conn.execute(insert(things), [dict(later, id=3)])
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT at, doc, flag, ratio, name FROM things ORDER BY id").all()
    assert stored[0] == stored[1]


def test_a_write_transaction_is_rolled_back_unless_committed(engine):
    stmt = SqliteStatement(things.insert(), column_keys=list(_row(0)))
    with engine.connect() as conn:
        with sqlite_write_transaction(conn) as raw:
            stmt.execute(conn, _row(1))
        assert not raw.in_transaction
        with pytest.raises(RuntimeError):
            with sqlite_write_transaction(conn):
                stmt.execute(conn, _row(2))
                raise RuntimeError("a fault midway")
        assert not raw.in_transaction
        with sqlite_write_transaction(conn) as raw:
            stmt.execute(conn, _row(3))
            raw.commit()
        assert [r.id for r in conn.execute(things.select())] == [3]


def _turns(hold, wait):
    """Run `hold` (enters the lock, calls back once it holds it, keeps it until released) and then `wait` (tries
    to enter): whether `wait` entered while `hold` still held it, and whether it entered once released."""
    holding, release, entered = threading.Event(), threading.Event(), threading.Event()
    hold(holding, release)
    assert holding.wait(WAIT)
    waiter = threading.Thread(target=wait, args=(entered,))
    waiter.start()
    early = entered.wait(0.3)
    release.set()
    waiter.join(WAIT)
    return early, entered.is_set()


def test_threads_of_a_process_take_turns(engine):
    database = engine.url.database

    def hold(holding, release):
        def run():
            with sqlite_writer(database):
                holding.set()
                release.wait(WAIT)
        threading.Thread(target=run).start()

    def wait(entered):
        with sqlite_writer(database):
            entered.set()

    assert _turns(hold, wait) == (False, True)


def _hold_in_child(database, holding, release):
    with sqlite_writer(database):
        holding.set()
        release.wait(WAIT)


def test_processes_take_turns_even_when_forked_from_a_process_that_used_the_lock(engine):
    database = engine.url.database
    with sqlite_writer(database):  # this process opens its lock file before the fork
        pass
    fork = multiprocessing.get_context("fork")
    child = []

    def hold(holding, release):
        # the child must lock its own open file: a descriptor inherited from us would be one lock shared by both
        held, go = fork.Event(), fork.Event()
        child.append(fork.Process(target=_hold_in_child, args=(database, held, go)))
        child[0].start()
        threading.Thread(target=lambda: held.wait(WAIT) and holding.set()).start()
        threading.Thread(target=lambda: release.wait(WAIT) and go.set()).start()

    def wait(entered):
        with engine.connect() as conn, sqlite_write_transaction(conn):
            entered.set()

    assert _turns(hold, wait) == (False, True)
    child[0].join(WAIT)
    assert child[0].exitcode == 0
