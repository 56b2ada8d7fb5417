"""lease heartbeats and the record of broken leases

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_lease") as batch:
        batch.add_column(sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "lease_break",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("use_case_id", sa.Integer(), sa.ForeignKey("use_case.id"), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("broken_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("broken_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lease_break_use_case_id", "lease_break", ["use_case_id"])


def downgrade() -> None:
    op.drop_index("ix_lease_break_use_case_id", table_name="lease_break")
    op.drop_table("lease_break")
    with op.batch_alter_table("check_lease") as batch:
        batch.drop_column("renewed_at")
