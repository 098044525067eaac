"""events: a partial index for the handover notes "Till nästa besök" of the clients of a shift package

Every pull looks up the notes (note_added) and their acknowledgements (handover_acknowledged) of the clients
of the worker's visits (server/loop/handover.py). Only those two types are in the index, so the other records
a push stores (visit times, interventions, record openings: nearly all of them) do not pay for it.

Revision ID: 0015_handover
Revises: 0014_access_log_partitions
Create Date: 2026-12-07 22:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_handover'
down_revision = '0014_access_log_partitions'
branch_labels = None
depends_on = None

NOTES = "type IN ('note_added', 'handover_acknowledged')"


def upgrade():
    op.create_index('ix_events_notes_client', 'events', ['client_id', 'occurred_at_corrected'], unique=False,
                    postgresql_where=sa.text(NOTES), sqlite_where=sa.text(NOTES))


def downgrade():
    op.drop_index('ix_events_notes_client', table_name='events')
