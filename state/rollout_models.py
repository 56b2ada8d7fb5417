"""SQLModel tables of rollouts: a rollout, its arms, and the interactions' arm columns.

Only `state/` imports this module. A use case has at most one live rollout (`ended_at` NULL),
kept by a partial unique index on both backends.
"""

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from state.models import utcnow

LIVE = text("ended_at IS NULL")


class RolloutRecord(SQLModel, table=True):
    """Live traffic split between the control and a canary (or A/B arms), one step at a time."""

    __tablename__ = "rollout"
    __table_args__ = (
        Index(
            "uq_rollout_live_use_case",
            "use_case_id",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    kind: str = Field(default="canary", max_length=20, description="canary or ab")
    to_phase: str = Field(max_length=20, description="the phase the canary moves to")
    status: str = Field(default="running", max_length=20)
    steps: list = Field(sa_column=Column(JSON, nullable=False), description="the spec's steps")
    step: int = Field(default=0, description="index into steps; len(steps) is 100 %")
    step_started_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    live_metrics: dict = Field(sa_column=Column(JSON, nullable=False))
    evidence: dict = Field(
        sa_column=Column(JSON, nullable=False),
        description="what started it: the check's gate results and eval run ids",
    )
    started_by: str = Field(default="phasegate", max_length=200)
    flow_run_id: str | None = Field(
        default=None, max_length=36, description="the flow run asking a person, when paused"
    )
    reason: str = Field(default="", sa_type=Text, description="why it waits, ended or asks")
    version: int = Field(default=1, description="optimistic-concurrency counter")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class RolloutArmRecord(SQLModel, table=True):
    """One configuration served during a rollout; position 0 is the control."""

    __tablename__ = "rollout_arm"
    __table_args__ = (
        UniqueConstraint("rollout_id", "name", name="uq_rollout_arm_name"),
        UniqueConstraint("rollout_id", "configuration_id", name="uq_rollout_arm_configuration"),
    )
    id: int | None = Field(default=None, primary_key=True)
    rollout_id: int = Field(foreign_key="rollout.id", index=True)
    position: int
    name: str = Field(max_length=63)
    configuration_id: int = Field(foreign_key="configuration.id", index=True)
