"""golden set: a retiring model's outputs on the eval set, kept for its successor's migration

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "golden_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("use_case_id", sa.Integer(), sa.ForeignKey("use_case.id"), nullable=False),
        sa.Column(
            "configuration_id",
            sa.Integer(),
            sa.ForeignKey("configuration.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("eval_run_id", sa.Integer(), nullable=False),
        sa.Column("eval_set_hash", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=63), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_golden_set_use_case_id", "golden_set", ["use_case_id"])


def downgrade() -> None:
    op.drop_table("golden_set")
