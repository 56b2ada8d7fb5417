"""Rollouts: live traffic split between the active configuration and canaries, step by step."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from state.domain.decisions import Decision
from state.domain.frozen import Frozen
from state.phases import Phase
from state.spec_rollout import LiveMetrics, RolloutStep
from state.split import arm_index, canary_weights

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


class LiveStep(RolloutStep):
    """A step as a rollout stores it: the spec's step and the A/B arms dropped before it."""

    dropped: list[str] = Field(
        default_factory=list, description="arms no longer served: their keys get the control"
    )


class Rollout(Frozen):
    """A rollout as stored: its arms, its step and status, what started it."""

    id: int
    use_case: str
    kind: str
    to_phase: Phase
    status: RolloutStatus
    steps: list[LiveStep]
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
    def layout(self) -> list[float]:
        """Per-cent shares the arms were laid out with at this step, dropped arms included."""
        return canary_weights(self.weight, len(self.arms))

    @property
    def dropped(self) -> list[str]:
        """Arms of an A/B dropped before this step (their keys are served the control)."""
        return self.steps[min(self.step, len(self.steps) - 1)].dropped

    @property
    def weights(self) -> list[float]:
        """Per-cent shares the arms are served, in arm order: a dropped arm's go to the control."""
        shares = self.layout
        for arm in self.arms[1:]:
            if arm.name in self.dropped:
                shares[0] += shares[arm.position]
                shares[arm.position] = 0.0
        return shares

    def serve(self, point: float) -> int:
        """The index of the arm a routing point is served: its laid-out arm, else the control.

        The layout does not change when an arm is dropped, so every other key keeps its arm.
        """
        index = arm_index(self.layout, point)
        return 0 if self.arms[index].name in self.dropped else index

    @property
    def serving(self) -> list[Arm]:
        """The arms served at this step: the control and the arms not dropped."""
        return [a for a in self.arms if a.position == 0 or a.name not in self.dropped]

    @property
    def last_step(self) -> bool:
        """Whether promoting this step makes the canary active (100 %)."""
        return self.step >= len(self.steps) - 1

    @property
    def label(self) -> str:
        """`canary 10 %`, or `A/B of 3 arms` (the arms still served)."""
        if self.kind == "ab":
            served = len(self.serving)
            return f"A/B of {served} arm{'s' if served != 1 else ''}"
        return f"canary {self.weight:g} %"

    @property
    def canary(self) -> Arm:
        """The first canary arm."""
        return self.arms[1]

    def arm_of(self, configuration_id: int) -> Arm | None:
        """The arm serving a configuration, or None."""
        return next((a for a in self.arms if a.configuration_id == configuration_id), None)


RolloutAction = Literal["promote", "abort", "ask", "resume", "drop"]


class RolloutMoved(Frozen):
    """A rollout after a move, and the decision the move recorded (when it ended)."""

    rollout: Rollout
    decision: Decision | None = None
