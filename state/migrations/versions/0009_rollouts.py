"""rollouts: live traffic split between the control and canaries, and the interactions' arm

`rollout` holds the step and status of each rollout (so a crashed rollout flow resumes at the
same step); a partial unique index keeps one live rollout (`ended_at` NULL) per use case.
`rollout_arm` names the configurations served. Interactions gain the configuration that served
them, their latency and whether they failed (all nullable: earlier rows reported none).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

LIVE = sa.text("ended_at IS NULL")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rollout",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("use_case_id", sa.Integer(), sa.ForeignKey("use_case.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("to_phase", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        _when("step_started_at"),
        sa.Column("live_metrics", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("ended_at", nullable=True),
    )
    op.create_index("ix_rollout_use_case_id", "rollout", ["use_case_id"])
    op.create_index(
        "uq_rollout_live_use_case",
        "rollout",
        ["use_case_id"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_table(
        "rollout_arm",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rollout_id", sa.Integer(), sa.ForeignKey("rollout.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column(
            "configuration_id", sa.Integer(), sa.ForeignKey("configuration.id"), nullable=False
        ),
        sa.UniqueConstraint("rollout_id", "name", name="uq_rollout_arm_name"),
        sa.UniqueConstraint("rollout_id", "configuration_id", name="uq_rollout_arm_configuration"),
    )
    op.create_index("ix_rollout_arm_rollout_id", "rollout_arm", ["rollout_id"])
    op.create_index("ix_rollout_arm_configuration_id", "rollout_arm", ["configuration_id"])
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("configuration_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("latency_ms", sa.Float(), nullable=True))
        batch.add_column(sa.Column("error", sa.Boolean(), nullable=True))
        batch.create_foreign_key(
            "fk_interaction_configuration_id", "configuration", ["configuration_id"], ["id"]
        )
        batch.create_index(
            "ix_interaction_configuration_created", ["configuration_id", "created_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.drop_index("ix_interaction_configuration_created")
        batch.drop_constraint("fk_interaction_configuration_id", type_="foreignkey")
        batch.drop_column("error")
        batch.drop_column("latency_ms")
        batch.drop_column("configuration_id")
    op.drop_table("rollout_arm")
    op.drop_table("rollout")
