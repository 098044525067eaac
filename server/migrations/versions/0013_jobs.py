"""jobs: the background jobs' schedule (a row per job, its lock is the right to run it) and their run history

`flask worker` processes claim a due job with SELECT … FOR UPDATE SKIP LOCKED (server/jobs.py), so each job
runs once per period whatever the number of workers (issue 32).

Revision ID: 0013_jobs
Revises: 0012_loop
Create Date: 2026-12-07 21:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0013_jobs'
down_revision = '0012_loop'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jobs',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_jobs')))
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'due_at', name='uq_job_runs_job_due_at'))


def downgrade():
    op.drop_table('job_runs')
    op.drop_table('jobs')
