"""Rollouts: live traffic split between the active configuration and canaries, step by step."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from state.domain.decisions import Decision
from state.domain.frozen import Frozen
from state.phases import Phase
from state.spec_rollout import LiveMetrics, RolloutStep
from state.split import canary_weights

RolloutStatus = Literal["running", "paused", "promoted", "aborted"]
ENDED = ("promoted", "aborted")


class Arm(Frozen):
    """One configuration a rollout serves; position 0 is the control."""

    name: str
    configuration_id: int
    position: int


class RolloutDraft(Frozen):
    """A rollout about to start: the canaries, the spec's steps, and what led to it."""

    to_phase: Phase
    canaries: dict[str, int] = Field(description="arm name → configuration id, in order")
    steps: list[RolloutStep] = Field(min_length=1)
    live_metrics: LiveMetrics = LiveMetrics()
    kind: Literal["canary", "ab"] = "canary"
    evidence: dict[str, Any] = Field(default_factory=dict)
    started_by: str = "phasegate"
    flow_run_id: str | None = None


class Rollout(Frozen):
    """A rollout as stored: its arms, its step and status, what started it."""

    id: int
    use_case: str
    kind: str
    to_phase: Phase
    status: RolloutStatus
    steps: list[RolloutStep]
    step: int
    step_started_at: datetime
    live_metrics: LiveMetrics
    evidence: dict[str, Any]
    started_by: str
    flow_run_id: str | None
    reason: str
    version: int
    created_at: datetime
    ended_at: datetime | None
    arms: list[Arm]

    @property
    def weight(self) -> float:
        """The canaries' share in per cent at this step."""
        return self.steps[self.step].weight if self.step < len(self.steps) else 100.0

    @property
    def weights(self) -> list[float]:
        """Per-cent shares of the arms, in arm order."""
        return canary_weights(self.weight, len(self.arms))

    @property
    def last_step(self) -> bool:
        """Whether promoting this step makes the canary active (100 %)."""
        return self.step >= len(self.steps) - 1

    @property
    def canary(self) -> Arm:
        """The first canary arm."""
        return self.arms[1]

    def arm_of(self, configuration_id: int) -> Arm | None:
        """The arm serving a configuration, or None."""
        return next((a for a in self.arms if a.configuration_id == configuration_id), None)


RolloutAction = Literal["promote", "abort", "ask", "resume"]


class RolloutMoved(Frozen):
    """A rollout after a move, and the decision the move recorded (when it ended)."""

    rollout: Rollout
    decision: Decision | None = None
