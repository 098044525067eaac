"""manage: a user's one-time enrolment code (its hash and expiry), and an index for one object's audit trail

Revision ID: 0017_manage
Revises: 0016_former_workers
Create Date: 2026-12-08 00:30:00
"""
import sqlalchemy as sa
from alembic import op

from server.models import UTCDateTime

revision = '0017_manage'
down_revision = '0016_former_workers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enrolment_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('enrolment_code_expires_at', UTCDateTime(), nullable=True))
    op.create_index('ix_audit_trail_entity', 'audit_trail', ['entity', 'entity_id'], unique=False)


def downgrade():
    op.drop_index('ix_audit_trail_entity', table_name='audit_trail')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('enrolment_code_expires_at')
        batch_op.drop_column('enrolment_code_hash')
