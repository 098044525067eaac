"""access_log: monthly partitions on PostgreSQL (SQLite unchanged); access_log_removals records retention

At 50,000–225,000 rows a day a municipality's access log reaches 90–400 million rows over the five years
HSLF-FS 2016:40 requires (issue 32). Partitioned by month on `at`, a review or an export of a period reads
only its months, and retention drops whole months (server/access_log_retention.py) instead of deleting rows.

PostgreSQL wants the partition key in every unique key: the primary key becomes (id, at) and the event_id
key (event_id, at), on SQLite too (one model) — `at` of a phone's record is its corrected time, the same
whenever the record is sent again, so a record is still logged once. Every other index is recreated as it was (whatever migration made
it). A DEFAULT partition takes a row whose month has no partition yet (the retention job keeps three months
ahead). The copy runs in the migration's transaction: on a large table run it in a maintenance window.

Revision ID: 0014_access_log_partitions
Revises: 0013_jobs
Create Date: 2026-12-07 22:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_access_log_partitions'
down_revision = '0013_jobs'
branch_labels = None
depends_on = None

KEYS = ("pk_access_log", "uq_access_log_event_id")


def upgrade():
    op.create_table('access_log_removals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('archive', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log_removals')))
    if op.get_bind().dialect.name == 'postgresql':
        _rebuild(partitioned=True)
    else:  # not partitioned, but the same unique key as on PostgreSQL
        _event_key(['event_id', 'at'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _rebuild(partitioned=False)
    else:
        _event_key(['event_id'])
    op.drop_table('access_log_removals')


def _event_key(columns):
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_constraint('uq_access_log_event_id', type_='unique')
        batch_op.create_unique_constraint('uq_access_log_event_id', columns)


def _rebuild(partitioned):
    """Copy access_log into a new table (partitioned by month or not), keys and indexes as they were."""
    conn = op.get_bind()
    indexes = [row.indexdef for row in conn.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = 'access_log' AND indexname NOT IN :keys").bindparams(
            sa.bindparam('keys', expanding=True)), {'keys': list(KEYS)})]
    by = " PARTITION BY RANGE (at)" if partitioned else ""
    op.execute(f"CREATE TABLE access_log_new (LIKE access_log INCLUDING DEFAULTS){by}")
    if partitioned:
        op.execute("CREATE TABLE access_log_default PARTITION OF access_log_new DEFAULT")
        op.execute("""
            DO $$ DECLARE month date; BEGIN
              FOR month IN SELECT generate_series(date_trunc('month', COALESCE(min(at), now()) AT TIME ZONE 'UTC'),
                                                  date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months',
                                                  interval '1 month')::date FROM access_log LOOP
                EXECUTE format('CREATE TABLE %I PARTITION OF access_log_new FOR VALUES FROM (%L) TO (%L)',
                               'access_log_' || to_char(month, 'YYYY_MM'), month::timestamp AT TIME ZONE 'UTC',
                               (month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
              END LOOP; END $$""")
    op.execute("INSERT INTO access_log_new SELECT * FROM access_log")
    op.execute("ALTER SEQUENCE access_log_id_seq OWNED BY NONE")  # it outlives the old table
    op.execute("DROP TABLE access_log")
    op.execute("ALTER TABLE access_log_new RENAME TO access_log")
    op.execute("ALTER SEQUENCE access_log_id_seq OWNED BY access_log.id")
    key = ", at" if partitioned else ""
    op.execute(f"ALTER TABLE access_log ADD CONSTRAINT pk_access_log PRIMARY KEY (id{key})")
    op.execute(f"ALTER TABLE access_log ADD CONSTRAINT uq_access_log_event_id UNIQUE (event_id{key})")
    op.execute("ALTER TABLE access_log ADD CONSTRAINT fk_access_log_unit_id_units "
               "FOREIGN KEY (unit_id) REFERENCES units (id)")
    op.execute("ALTER TABLE access_log ADD CONSTRAINT fk_access_log_user_id_users "
               "FOREIGN KEY (user_id) REFERENCES users (id)")
    for definition in indexes:
        op.execute(definition)
