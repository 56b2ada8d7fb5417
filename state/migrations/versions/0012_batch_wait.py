"""batch wait: the provider batches a suspended flow run waits for

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_wait",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=200), nullable=False, unique=True),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("poll_seconds", sa.Float(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_batch_wait_flow_run_id", "batch_wait", ["flow_run_id"])


def downgrade() -> None:
    op.drop_table("batch_wait")
