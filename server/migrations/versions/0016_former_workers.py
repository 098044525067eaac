"""visit_former_workers: who was taken off a visit (re-staffed by an import or by hand)

A worker re-staffed away from a visit, or moved to another unit, may have recorded it offline before the change
reached the phone. Those records still deliver (to the visit's unit); the push checks look here besides
visit_workers.

Revision ID: 0016_former_workers
Revises: 0015_handover
Create Date: 2026-12-08 00:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_former_workers'
down_revision = '0015_handover'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'visit_former_workers',
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name='fk_visit_former_workers_visit_id_visits',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name='fk_visit_former_workers_worker_id_users'),
        sa.PrimaryKeyConstraint('visit_id', 'worker_id', name='pk_visit_former_workers'),
    )
    op.create_index('ix_visit_former_workers_worker_id', 'visit_former_workers', ['worker_id'])


def downgrade():
    op.drop_index('ix_visit_former_workers_worker_id', table_name='visit_former_workers')
    op.drop_table('visit_former_workers')
