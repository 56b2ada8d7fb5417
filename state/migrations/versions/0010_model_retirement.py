"""model retirement: a model's announced shutdown, noted once per configuration on it

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_retirement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("use_case_id", sa.Integer(), sa.ForeignKey("use_case.id"), nullable=False),
        sa.Column(
            "configuration_id", sa.Integer(), sa.ForeignKey("configuration.id"), nullable=False
        ),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("shutdown_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("days_left", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decision.id"), nullable=True),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("configuration_id", "model", "shutdown_date"),
    )
    op.create_index("ix_model_retirement_use_case_id", "model_retirement", ["use_case_id"])
    op.create_index(
        "ix_model_retirement_configuration_id", "model_retirement", ["configuration_id"]
    )
    op.create_index("ix_model_retirement_model", "model_retirement", ["model"])


def downgrade() -> None:
    op.drop_table("model_retirement")
