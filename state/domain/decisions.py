"""Decisions with their gate results, the activations they made, and approvals of moves."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from state.domain.frozen import Frozen
from state.phases import DecisionKind, GateStatus, Phase, Stage

Scalar = float | int | str | bool | None
# `cancelled`: the check that asked lost its lease (broken or taken over) and decides nothing.
ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "cancelled"]


class GateResult(Frozen):
    """One check's answer with what it saw, what it wanted and why."""

    check: str
    stage: Stage = Stage.PROMOTION
    status: GateStatus
    observed: Scalar = None
    threshold: Scalar = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    detail: str = ""


class DecisionDraft(Frozen):
    """A decision about to be recorded, with the phase change it carries."""

    kind: DecisionKind
    to_phase: Phase
    configuration_id: int | None = Field(None, description="active configuration afterwards")
    candidate_configuration_id: int | None = None
    decided_by: str = "phasegate"
    reason: str = ""
    flow_run_id: str | None = None
    eval_run_ids: list[int] = Field(default_factory=list)
    gate_results: list[GateResult] = Field(default_factory=list)

    @property
    def changes_activation(self) -> bool:
        """Whether recording this decision changes the active configuration."""
        return self.kind in (
            DecisionKind.BASELINED,
            DecisionKind.ADVANCED,
            DecisionKind.ROLLED_BACK,
        )


class Decision(DecisionDraft):
    """A recorded decision: its draft with where it came from, when, and under which spec."""

    id: int
    use_case: str
    from_phase: Phase
    spec_hash: str
    created_at: datetime


class Activation(Frozen):
    """A decision that made a configuration active, with the eval runs it recorded."""

    decision_id: int
    kind: DecisionKind
    configuration_id: int | None
    eval_run_ids: list[int]
    created_at: datetime


class Approval(Frozen):
    """A request for a person's approval of a move, and its answer."""

    id: int
    use_case: str
    flow_run_id: str
    status: ApprovalStatus
    to_phase: Phase
    candidate_configuration_id: int | None
    requested_at: datetime
    expires_at: datetime
    approver: str | None
    reason: str | None
    decided_at: datetime | None
