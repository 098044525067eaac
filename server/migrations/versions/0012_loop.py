"""closing the loop: deviations and their status history, transfer-back ticks, period approvals

Revision ID: 0012_loop
Revises: 0011_import
Create Date: 2026-12-07 21:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012_loop'
down_revision = '0011_import'
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Moment = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'loop_deviations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=True),
        sa.Column('visit_id', sa.Integer(), nullable=True),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('offline', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('status_by', sa.Integer(), nullable=True),
        sa.Column('status_at', Moment, nullable=True),
        sa.Column('status_comment', sa.Text(), nullable=True),
        sa.CheckConstraint("status in ('new', 'received', 'handled')", name=op.f('ck_loop_deviations_status')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_loop_deviations_event_id_events')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_loop_deviations_unit_id_units')),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_loop_deviations_client_id_clients')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_loop_deviations_visit_id_visits')),
        sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_loop_deviations_worker_id_users')),
        sa.ForeignKeyConstraint(['status_by'], ['users.id'], name=op.f('fk_loop_deviations_status_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_loop_deviations')),
        sa.UniqueConstraint('event_id', name=op.f('uq_loop_deviations_event_id')),
    )
    op.create_index('ix_loop_deviations_unit_status', 'loop_deviations', ['unit_id', 'status'])
    op.create_table(
        'loop_deviation_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('deviation_id', sa.Integer(), nullable=False),
        sa.Column('status_from', sa.String(length=16), nullable=False),
        sa.Column('status_to', sa.String(length=16), nullable=False),
        sa.Column('changed_by', sa.Integer(), nullable=False),
        sa.Column('changed_at', Moment, nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['deviation_id'], ['loop_deviations.id'], ondelete='CASCADE',
                                name=op.f('fk_loop_deviation_changes_deviation_id_loop_deviations')),
        sa.ForeignKeyConstraint(['changed_by'], ['users.id'], name=op.f('fk_loop_deviation_changes_changed_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_loop_deviation_changes')),
    )
    op.create_index(op.f('ix_loop_deviation_changes_deviation_id'), 'loop_deviation_changes', ['deviation_id'])
    op.create_table(
        'loop_transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outage_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=120), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('transferred_by', sa.Integer(), nullable=False),
        sa.Column('transferred_at', Moment, nullable=False),
        sa.ForeignKeyConstraint(['outage_id'], ['outages.id'], ondelete='CASCADE',
                                name=op.f('fk_loop_transfers_outage_id_outages')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_loop_transfers_unit_id_units')),
        sa.ForeignKeyConstraint(['transferred_by'], ['users.id'], name=op.f('fk_loop_transfers_transferred_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_loop_transfers')),
        sa.UniqueConstraint('outage_id', 'unit_id', 'item_key', name=op.f('uq_loop_transfers_item')),
    )
    op.create_table(
        'loop_approvals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('period_from', sa.Date(), nullable=False),
        sa.Column('period_to', sa.Date(), nullable=False),
        sa.Column('approved_by', sa.Integer(), nullable=False),
        sa.Column('approved_at', Moment, nullable=False),
        sa.Column('lock_date_before', sa.Date(), nullable=True),
        sa.Column('lock_date_after', sa.Date(), nullable=False),
        sa.Column('summary', Json, nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_loop_approvals_unit_id_units')),
        sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_loop_approvals_approved_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_loop_approvals')),
    )
    op.create_index('ix_loop_approvals_unit_approved', 'loop_approvals', ['unit_id', 'approved_at'])


def downgrade():
    op.drop_index('ix_loop_approvals_unit_approved', table_name='loop_approvals')
    op.drop_table('loop_approvals')
    op.drop_table('loop_transfers')
    op.drop_index(op.f('ix_loop_deviation_changes_deviation_id'), table_name='loop_deviation_changes')
    op.drop_table('loop_deviation_changes')
    op.drop_index('ix_loop_deviations_unit_status', table_name='loop_deviations')
    op.drop_table('loop_deviations')
