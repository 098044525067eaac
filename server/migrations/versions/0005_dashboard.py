"""dashboard: access-log checks, daily backlog snapshots, indexes for the dashboard queries

Revision ID: 0005_dashboard
Revises: 0001
Create Date: 2026-11-23 22:50:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0005_dashboard'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('checked_by', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('rows_reviewed', sa.Integer(), nullable=False),
    sa.Column('denied_reviewed', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_access_checks_checked_by_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_access_checks_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_checks'))
    )
    with op.batch_alter_table('access_checks', schema=None) as batch_op:
        batch_op.create_index('ix_access_checks_unit_checked', ['unit_id', 'checked_at'], unique=False)

    op.create_table('backlog_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('devices', sa.Integer(), nullable=True),
    sa.Column('pending_records', sa.Integer(), nullable=True),
    sa.Column('devices_with_pending', sa.Integer(), nullable=True),
    sa.Column('silent_devices', sa.Integer(), nullable=True),
    sa.Column('oldest_pending_seconds', sa.Integer(), nullable=True),
    sa.Column('quarantined_open', sa.Integer(), nullable=True),
    sa.Column('synced_records', sa.Integer(), nullable=True),
    sa.Column('avg_sync_delay_seconds', sa.Float(), nullable=True),
    sa.Column('max_sync_delay_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_backlog_snapshots_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backlog_snapshots')),
    sa.UniqueConstraint('unit_id', 'day', name='uq_backlog_snapshots_unit_day')
    )

    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_unit_at', ['unit_id', 'at'], unique=False,
                              postgresql_include=['outcome', 'offline'])
        batch_op.create_index('ix_access_log_denied_client', ['client_id', 'at'], unique=False,
                              postgresql_where=sa.text("outcome = 'denied'"),
                              sqlite_where=sa.text("outcome = 'denied'"))
        batch_op.create_index('ix_access_log_at', ['at'], unique=False)
    with op.batch_alter_table('quarantined_events', schema=None) as batch_op:
        batch_op.create_index('ix_quarantined_events_unit_state', ['unit_id', 'state'], unique=False)
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index('ix_devices_unit_revoked', ['unit_id', 'revoked_at'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_visit_user', ['visit_id', 'user_id'], unique=False)
        batch_op.create_index('ix_events_unit_source', ['unit_id', 'source'], unique=False)


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_unit_source')
        batch_op.drop_index('ix_events_visit_user')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index('ix_devices_unit_revoked')
    with op.batch_alter_table('quarantined_events', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantined_events_unit_state')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_at')
        batch_op.drop_index('ix_access_log_denied_client')
        batch_op.drop_index('ix_access_log_unit_at')
    op.drop_table('backlog_snapshots')
    with op.batch_alter_table('access_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_access_checks_unit_checked')
    op.drop_table('access_checks')
