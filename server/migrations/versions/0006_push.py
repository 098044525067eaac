"""web push: subscriptions, the notification outbox, deliveries

Revision ID: 0006_push
Revises: 0001
Create Date: 2026-11-23 23:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006_push'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table('push_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=1024), nullable=False),
    sa.Column('p256dh', sa.String(length=128), nullable=False),
    sa.Column('auth', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_push_subscriptions_device_id_devices')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_subscriptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint'))
    )
    op.create_index(op.f('ix_push_subscriptions_user_id'), 'push_subscriptions', ['user_id'], unique=False)
    op.create_index(op.f('ix_push_subscriptions_device_id'), 'push_subscriptions', ['device_id'], unique=False)
    op.create_table('push_notifications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('params', JSON, nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=120), nullable=False),
    sa.Column('body_en', sa.String(length=300), nullable=False),
    sa.Column('url', sa.String(length=120), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fanned_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_notifications')),
    sa.UniqueConstraint('kind', 'user_id', 'dedupe_key', name='uq_push_notifications_once')
    )
    op.create_index(op.f('ix_push_notifications_user_id'), 'push_notifications', ['user_id'], unique=False)
    op.create_index(op.f('ix_push_notifications_fanned_out_at'), 'push_notifications', ['fanned_out_at'],
                    unique=False)
    op.create_table('push_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['push_notifications.id'],
                            name=op.f('fk_push_deliveries_notification_id_push_notifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['push_subscriptions.id'],
                            name=op.f('fk_push_deliveries_subscription_id_push_subscriptions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_deliveries')),
    sa.UniqueConstraint('notification_id', 'subscription_id', name='uq_push_deliveries_once')
    )
    op.create_index(op.f('ix_push_deliveries_notification_id'), 'push_deliveries', ['notification_id'], unique=False)
    op.create_index(op.f('ix_push_deliveries_subscription_id'), 'push_deliveries', ['subscription_id'], unique=False)
    op.create_index('ix_push_deliveries_due', 'push_deliveries', ['state', 'next_attempt_at'], unique=False)


def downgrade():
    op.drop_table('push_deliveries')
    op.drop_table('push_notifications')
    op.drop_table('push_subscriptions')
