"""dbutil.pg_pipeline, the push's round trips on PostgreSQL: libpq's pipeline mode driven directly, with psycopg
adapting the values. What psycopg's cursor would otherwise do for us is checked here: the statements run in the
session's transaction, each prepared once per connection, the first error raised as
psycopg's class, and statements dropped behind our back are prepared again."""
import gc
import uuid
import weakref

import psycopg
import pytest
from sqlalchemy import make_url, text

from server import create_app
from server.dbutil import pg_pipeline
from server.extensions import db
from server.ingest import _pg_array
from tests.conftest import PG_URL, requires_postgresql

pytestmark = requires_postgresql


@pytest.fixture(scope="module")
def db_url():
    name = f"hv_pipeline_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def app(db_url, tmp_path, monkeypatch):
    """The app on a database of its own (made and dropped here), with a table to write to."""
    monkeypatch.setenv("HEMVARD_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test"})
    with app.app_context():
        db.session.execute(text("CREATE TABLE notes (id int PRIMARY KEY, body text, tags int[])"))
        db.session.commit()
        try:
            yield app
        finally:
            db.session.rollback()
            db.session.execute(text("DROP TABLE notes"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()


def _prepared(fragment):
    return db.session.execute(text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :f"),
                              {"f": f"%{fragment}%"}).scalar()


def test_rows_commands_and_executemany_in_one_round_trip_inside_the_session_transaction(app):
    out = pg_pipeline([
        ("INSERT INTO notes VALUES (%(id)s, %(body)s, %(tags)s) RETURNING id", {"id": 1, "body": "a", "tags": [1, 2]}),
        ("INSERT INTO notes VALUES (%(id)s, %(body)s, %(tags)s)", [{"id": 2, "body": "50 %", "tags": []},
                                                                   {"id": 3, "body": None, "tags": [3]}]),
        ("INSERT INTO notes VALUES (%(id)s, 'x', NULL)", []),  # an empty executemany is skipped
        ("SELECT id, body, tags FROM notes WHERE body LIKE '%%\\%%%%' OR body IS NULL ORDER BY id", {}),
        ("SELECT count(*) FROM notes", None),
    ])
    assert out == [[(1,)], None, None, [(2, "50 %", []), (3, None, [3])], [(3,)]]
    db.session.rollback()  # they ran in the session's transaction: all undone
    assert pg_pipeline([("SELECT count(*) FROM notes", None)]) == [[(0,)]]


def test_each_statement_is_prepared_once_per_connection_and_sql_without_parameters_never(app):
    for n in range(3):
        pg_pipeline([("SELECT %(n)s::int AS prepared_once", {"n": n}), ("SELECT 1 AS sent_as_it_is", None),
                     ("SELECT 2 AS prepared_without_parameters", {})])
    assert _prepared("prepared_once") == 1
    assert _prepared("sent_as_it_is") == 0
    assert _prepared("prepared_without_parameters") == 1


def test_array_parameters_as_text_literals_arrive_element_for_element(app):
    """The push sends its id lists as array literals (ingest._pg_array): quotes, backslashes, commas and braces
    inside an element must not split or change it."""
    texts = ['a"b', "c\\d", "e,f", "{g}", "", "NULL", "3329a3d6-9b77-4a12-b6c2-8ff6b4fe0c2a"]
    out = pg_pipeline([("SELECT CAST(%(t)s AS varchar[]), CAST(%(n)s AS int[]), CAST(%(e)s AS int[])",
                        {"t": _pg_array(texts), "n": _pg_array([57, 1234567]), "e": _pg_array([])})])
    assert out == [[(texts, [57, 1234567], [])]]


def test_what_it_keeps_per_connection_goes_with_the_connection(app):
    """Prepared names and psycopg's Transformer are kept per connection; a connection the pool replaced is
    freed, not kept alive by them, and its successor gets its own."""
    pg_pipeline([("SELECT %(n)s::int AS kept_per_connection", {"n": 1})])
    old = weakref.ref(db.session.connection().connection.driver_connection)
    db.session.connection().invalidate()
    db.session.rollback()
    assert pg_pipeline([("SELECT %(n)s::int AS kept_per_connection", {"n": 2})]) == [[(2,)]]
    assert db.session.connection().connection.driver_connection is not old()
    gc.collect()
    assert old() is None


def test_the_first_error_is_raised_as_psycopg_would_and_the_rest_does_not_run(app):
    pg_pipeline([("INSERT INTO notes VALUES (%(id)s, 'first', NULL)", {"id": 1})])
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        pg_pipeline([("INSERT INTO notes VALUES (%(id)s, 'again', NULL)", {"id": 1}),
                     ("SELECT 1/%(zero)s", {"zero": 0})])
    assert caught.value.diag.table_name == "notes"
    db.session.rollback()
    # the connection is sound, and a statement whose run failed stays usable
    assert pg_pipeline([("SELECT 1/%(zero)s", {"zero": 1})]) == [[(1,)]]


def test_statements_dropped_behind_its_back_are_prepared_again(app):
    sql = "SELECT %(n)s::int AS dropped_once"
    assert pg_pipeline([(sql, {"n": 1})]) == [[(1,)]]
    db.session.execute(text("DEALLOCATE ALL"))
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):  # the push redoes itself the plain way
        pg_pipeline([(sql, {"n": 2})])
    db.session.rollback()
    assert pg_pipeline([(sql, {"n": 3})]) == [[(3,)]]


def test_psycopg_prepares_nothing_of_its_own_so_a_rollback_drops_nothing(app):
    """psycopg prepares a query it has run five times, and after a ROLLBACK it deallocates everything."""
    sql = "SELECT %(n)s::int AS survives_rollbacks"
    pg_pipeline([(sql, {"n": 1})])
    for _ in range(6):
        db.session.execute(text("SELECT 41 + 1")).scalar()
    db.session.rollback()
    assert pg_pipeline([(sql, {"n": 2})]) == [[(2,)]]


def test_a_failure_before_anything_was_sent_leaves_no_half_pipeline_behind(app):
    """A value psycopg cannot adapt fails while statements are being queued: the connection holds a
    half-built pipeline, so it is invalidated, and the session goes on with a sound one."""
    with pytest.raises(psycopg.ProgrammingError):
        pg_pipeline([("SELECT %(n)s::int", {"n": 1}), ("SELECT %(x)s", {"x": object()})])
    db.session.rollback()
    assert pg_pipeline([("SELECT %(n)s::int", {"n": 2})]) == [[(2,)]]
    assert db.session.execute(text("SELECT 3")).scalar() == 3


def test_a_statement_whose_table_changed_under_it_is_prepared_again(app):
    """PostgreSQL refuses a prepared statement whose result type an ALTER changed; the push redoes itself the
    plain way, and the next pipeline prepares afresh instead of failing on that connection for ever."""
    sql = "SELECT id FROM notes WHERE id = %(id)s OR %(id)s = 0"
    assert pg_pipeline([(sql, {"id": 0})]) == [[]]
    db.session.execute(text("ALTER TABLE notes ALTER COLUMN id TYPE bigint"))
    db.session.commit()
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        pg_pipeline([(sql, {"id": 0})])
    db.session.rollback()
    pg_pipeline([("INSERT INTO notes VALUES (%(id)s, 'x', NULL)", {"id": 7})])
    assert pg_pipeline([(sql, {"id": 7})]) == [[(7,)]]
