"""access_log.action wide enough for "METHOD /path" of any endpoint (a refused POST on a quarantined record's
UUID path is 65 characters; PostgreSQL refused the refusal's own log row)

Revision ID: 0004a_access_action
Revises: 0004_outages
Create Date: 2026-11-23 23:35:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0004a_access_action'
down_revision = '0004_outages'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.alter_column('action', existing_type=sa.String(length=48), type_=sa.String(length=200),
                              existing_nullable=False)


def downgrade():
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.alter_column('action', existing_type=sa.String(length=200), type_=sa.String(length=48),
                              existing_nullable=False)
