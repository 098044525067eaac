"""access_log: the client and user indexes carry outcome and offline (PostgreSQL), like the unit's index

The review counts every row of a client or a person over the period asked for — five years of one worker is
about 90,000 rows, each on a heap page of its own in a month partition. With `outcome` and `offline` in the
index the counts are index-only scans (tests/bench/bench_access_log.py). SQLite has no INCLUDE: unchanged.
On a large log, run it in a maintenance window (each month's index is rebuilt).

Revision ID: 0018_access_log_covering
Revises: 0017_manage
Create Date: 2026-12-08 00:30:00
"""
from alembic import op

revision = '0018_access_log_covering'
down_revision = '0017_manage'
branch_labels = None
depends_on = None

INDEXES = {'ix_access_log_client_at': ['client_id', 'at'], 'ix_access_log_user_at': ['user_id', 'at']}


def upgrade():
    _rebuild(['outcome', 'offline'])


def downgrade():
    _rebuild([])


def _rebuild(include):
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name='access_log')
        op.create_index(name, 'access_log', columns, unique=False, postgresql_include=include)
