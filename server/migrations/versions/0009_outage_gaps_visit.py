"""outage_gaps: index visit_id — every push looks up the gaps of its visits

The push's facts query finds the outage gaps of the batch's visits (for the outages hook). Without an index
leading with visit_id that lookup read the whole table: after a municipality-wide outage (a gap for every
missed visit) that is on every push of the reconnect storm. Measured in BENCHMARKS.md (issue 8).

Revision ID: 0009_outage_gaps_visit
Revises: 0008_events_indexes
Create Date: 2026-11-24 10:00:00
"""
from alembic import op

revision = '0009_outage_gaps_visit'
down_revision = '0008_events_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outage_gaps', schema=None) as batch_op:
        batch_op.create_index('ix_outage_gaps_visit_id', ['visit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outage_gaps', schema=None) as batch_op:
        batch_op.drop_index('ix_outage_gaps_visit_id')
