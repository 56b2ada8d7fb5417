"""What phase flows and checks return: ids and values, never rows or sessions."""

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from state.domain import Decision, EvalRun, GateResult
from state.phases import DecisionKind, Phase
from tasks.prompts import Passage


class VariantScore(BaseModel):
    """One prompt variant's score in the A/B of the prompting phase."""

    label: str
    configuration_id: int
    eval_run_id: int
    mean: float
    tokens_per_query: float


class Candidate(BaseModel):
    """A configuration built for a phase and scored on the eval set."""

    phase: Phase
    configuration_id: int
    eval_run: EvalRun
    variants: list[VariantScore] = Field(default_factory=list)
    evidence: dict[str, Any] = Field(default_factory=dict)
    gate_results: list[GateResult] = Field(default_factory=list)
    # The passages the candidate was scored with, per eval item (RAG): its interleaved latency
    # timing sends the same prompts instead of retrieving again.
    passages: list[list[Passage]] | None = None


class CheckOutcome(BaseModel):
    """What a phase check decided."""

    use_case: str
    decision: DecisionKind
    decision_id: int | None
    from_phase: Phase
    to_phase: Phase
    reason: str
    configuration_id: int | None = None
    rollout_id: int | None = Field(None, description="the rollout a `rolling_out` check started")
    recorded: Decision | None = Field(None, description="the decision as recorded, gates and all")


class HandOff(BaseModel):
    """A check that needs a person and does not wait: the deployment to run it again on."""

    deployment_id: UUID


class NotBuilt(BaseModel):
    """A build that stopped before its candidate, with the check that stopped it."""

    gates: list[GateResult]
    reason: str
