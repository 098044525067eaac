"""events: drop three indexes no query uses — every pushed event paid for them

ix_events_visit_id is a prefix of ix_events_visit_user (0005); nothing looks events up by device_id or
client_id (devices report their state in the devices row; client reads are in access_log). The log keeps
its primary key, the unique event id, and the indexes the outages and dashboards use
(visit+user, user, unit+received, unit+source). Measured in BENCHMARKS.md (issue 8).

Revision ID: 0008_events_indexes
Revises: 0007_merge
Create Date: 2026-11-24 02:00:00
"""
from alembic import op

revision = '0008_events_indexes'
down_revision = '0007_merge'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_visit_id')
        batch_op.drop_index('ix_events_device_id')
        batch_op.drop_index('ix_events_client_id')


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_client_id', ['client_id'], unique=False)
        batch_op.create_index('ix_events_device_id', ['device_id'], unique=False)
        batch_op.create_index('ix_events_visit_id', ['visit_id'], unique=False)
