"""import: external ids, a visit's revision, integration tokens, the audit trail (issue 29)

Revision ID: 0011_import
Revises: 0010_outage_withdrawn
Create Date: 2026-12-07 21:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.models import UTCDateTime

revision = '0011_import'
down_revision = '0010_outage_withdrawn'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    for table in ('units', 'users', 'clients', 'visits'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(f'uq_{table}_external_id', ['external_id'])
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'integration_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('hint', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_by', sa.Integer(), nullable=True),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.Column('last_used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name='fk_integration_tokens_created_by_users'),
        sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name='fk_integration_tokens_revoked_by_users'),
        sa.PrimaryKeyConstraint('id', name='pk_integration_tokens'),
        sa.UniqueConstraint('secret_hash', name='uq_integration_tokens_secret_hash'),
    )
    op.create_table(
        'integration_token_units',
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['token_id'], ['integration_tokens.id'], ondelete='CASCADE',
                                name='fk_integration_token_units_token_id_integration_tokens'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name='fk_integration_token_units_unit_id_units'),
        sa.PrimaryKeyConstraint('token_id', 'unit_id', name='pk_integration_token_units'),
    )
    op.create_index('ix_integration_token_units_unit_id', 'integration_token_units', ['unit_id'])
    op.create_table(
        'audit_trail',
        sa.Column('id', BIGID, autoincrement=True, nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('actor_token_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('entity', sa.String(length=32), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=True),
        sa.Column('external_id', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('before', JSON, nullable=True),
        sa.Column('after', JSON, nullable=True),
        sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name='fk_audit_trail_actor_user_id_users'),
        sa.ForeignKeyConstraint(['actor_token_id'], ['integration_tokens.id'],
                                name='fk_audit_trail_actor_token_id_integration_tokens'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name='fk_audit_trail_unit_id_units'),
        sa.PrimaryKeyConstraint('id', name='pk_audit_trail'),
    )
    op.create_index('ix_audit_trail_unit_id', 'audit_trail', ['unit_id'])


def downgrade():
    op.drop_index('ix_audit_trail_unit_id', table_name='audit_trail')
    op.drop_table('audit_trail')
    op.drop_index('ix_integration_token_units_unit_id', table_name='integration_token_units')
    op.drop_table('integration_token_units')
    op.drop_table('integration_tokens')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_column('revision')
    for table in ('visits', 'clients', 'users', 'units'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_external_id', type_='unique')
            batch_op.drop_column('external_id')
