"""The migrations build exactly the schema the models declare (what `flask db check` asks), on both engines —
so an index dropped for speed (0008) or added for a dashboard cannot drift between the two."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.access_log_retention import include_name
from server.extensions import db


def test_the_migrated_database_matches_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})  # as migrations/env.py
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_the_event_log_keeps_only_the_indexes_queries_use(app):
    with app.app_context():
        names = {ix["name"] for ix in inspect(db.engine).get_indexes("events")}
    assert {"ix_events_visit_user", "ix_events_user_id", "ix_events_unit_received", "ix_events_unit_source"} <= names
    assert not names & {"ix_events_visit_id", "ix_events_device_id", "ix_events_client_id"}
