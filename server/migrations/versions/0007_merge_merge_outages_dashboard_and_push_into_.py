"""merge outages, dashboard and push into one head

Revision ID: 0007_merge
Revises: 0004a_access_action, 0005_dashboard, 0006_push
Create Date: 2026-11-23 23:50:51.460423

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_merge'
down_revision = ('0004a_access_action', '0005_dashboard', '0006_push')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
