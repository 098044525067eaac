"""outages: outages and their units, gaps with decision history, absences, unit rule settings, conflict
resolutions, server heartbeats

Revision ID: 0004_outages
Revises: 0001
Create Date: 2026-11-23 22:45:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_outages'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expected_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('announced_policy', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('decided_policy', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reporter_name', sa.String(length=120), nullable=True),
    sa.Column('discovered_by_unit_id', sa.Integer(), nullable=True),
    sa.Column('fault_type', sa.String(length=32), nullable=True),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('dismissed_reason', sa.Text(), nullable=True),
    sa.Column('threshold_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('planned', 'unplanned')", name=op.f('ck_outages_kind')),
    sa.CheckConstraint("status in ('proposed', 'confirmed', 'dismissed')", name=op.f('ck_outages_status')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_outages_created_by_users')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_outages_decided_by_users')),
    sa.ForeignKeyConstraint(['discovered_by_unit_id'], ['units.id'],
                            name=op.f('fk_outages_discovered_by_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outages'))
    )
    op.create_table('outage_units',
    sa.Column('outage_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['outage_id'], ['outages.id'], name=op.f('fk_outage_units_outage_id_outages'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_outage_units_unit_id_units')),
    sa.PrimaryKeyConstraint('outage_id', 'unit_id', name=op.f('pk_outage_units'))
    )
    with op.batch_alter_table('outage_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outage_units_unit_id'), ['unit_id'], unique=False)

    op.create_table('outage_gaps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outage_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=True),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rule', sa.String(length=48), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('explanation_en', sa.Text(), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outage_id'], ['outages.id'], name=op.f('fk_outage_gaps_outage_id_outages'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_outage_gaps_unit_id_units')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_outage_gaps_visit_id_visits')),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_outage_gaps_worker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outage_gaps')),
    sa.UniqueConstraint('outage_id', 'visit_id', 'worker_id', name='uq_outage_gaps_ovw')
    )
    with op.batch_alter_table('outage_gaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outage_gaps_worker_id'), ['worker_id'], unique=False)
        batch_op.create_index('ix_outage_gaps_unit_state', ['unit_id', 'state', 'route'], unique=False)

    op.create_table('outage_gap_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gap_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=True),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rule', sa.String(length=48), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('trigger', sa.String(length=48), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['gap_id'], ['outage_gaps.id'], name=op.f('fk_outage_gap_decisions_gap_id_outage_gaps'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outage_gap_decisions'))
    )
    with op.batch_alter_table('outage_gap_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outage_gap_decisions_gap_id'), ['gap_id'], unique=False)

    op.create_table('worker_absences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('marked_by', sa.Integer(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marked_by'], ['users.id'], name=op.f('fk_worker_absences_marked_by_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_worker_absences_unit_id_units')),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_worker_absences_worker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_absences')),
    sa.UniqueConstraint('worker_id', 'day', name='uq_worker_absences_worker_day')
    )

    op.create_table('unit_rule_settings',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('overrides', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_rule_settings_unit_id_units')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_unit_rule_settings_updated_by_users')),
    sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_unit_rule_settings'))
    )

    op.create_table('conflict_resolutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('effective', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_conflict_resolutions_resolved_by_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_conflict_resolutions_unit_id_units')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_conflict_resolutions_visit_id_visits')),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_conflict_resolutions_worker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_resolutions'))
    )

    op.create_table('server_heartbeats',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_server_heartbeats'))
    )


def downgrade():
    op.drop_table('server_heartbeats')
    op.drop_table('conflict_resolutions')
    op.drop_table('unit_rule_settings')
    op.drop_table('worker_absences')
    with op.batch_alter_table('outage_gap_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outage_gap_decisions_gap_id'))
    op.drop_table('outage_gap_decisions')
    with op.batch_alter_table('outage_gaps', schema=None) as batch_op:
        batch_op.drop_index('ix_outage_gaps_unit_state')
        batch_op.drop_index(batch_op.f('ix_outage_gaps_worker_id'))
    op.drop_table('outage_gaps')
    with op.batch_alter_table('outage_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outage_units_unit_id'))
    op.drop_table('outage_units')
    op.drop_table('outages')
