"""outages: withdrawn — an outage registered by mistake is kept with who withdrew it, when and why

Revision ID: 0010_outage_withdrawn
Revises: 0009_outage_gaps_visit
Create Date: 2026-12-07 21:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_outage_withdrawn'
down_revision = '0009_outage_gaps_visit'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outages_withdrawn_by_users'), 'users', ['withdrawn_by'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_outages_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_outages_status'), "status in ('proposed', 'confirmed', 'dismissed', 'withdrawn')")


def downgrade():
    op.execute("UPDATE outages SET status = 'dismissed', dismissed_reason = withdrawn_reason "
               "WHERE status = 'withdrawn'")
    with op.batch_alter_table('outages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outages_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_outages_status'), "status in ('proposed', 'confirmed', 'dismissed')")
        batch_op.drop_constraint(batch_op.f('fk_outages_withdrawn_by_users'), type_='foreignkey')
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_by')
        batch_op.drop_column('withdrawn_at')
