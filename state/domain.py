"""Domain models: what store functions return and flows pass around (never table rows)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from state.phases import DecisionKind, GateStatus, Phase, Stage
from state.spec import UseCaseSpec

Scalar = float | int | str | bool | None


class _Domain(BaseModel):
    model_config = ConfigDict(frozen=True)


class UseCase(_Domain):
    """A registered use case with its active phase and configuration."""

    id: int
    name: str
    spec: UseCaseSpec
    spec_hash: str
    spec_path: str
    active_phase: Phase
    active_configuration_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class ApplyResult(_Domain):
    """What `apply` did to one use case."""

    name: str
    outcome: Literal["created", "updated", "unchanged"]
    spec_hash: str


class Configuration(_Domain):
    """What an application calls in one phase."""

    id: int
    use_case_id: int
    phase: Phase
    model: str
    prompt_version_id: int | None = None
    model_version_id: int | None = None
    retrieval: dict[str, Any] | None = None
    routing: dict[str, Any] | None = None
    generation: dict[str, Any] | None = Field(None, description="spec's `generation:`")
    answers: dict[str, Any] | None = Field(None, description="spec's `answers:`")
    content_hash: str
    created_at: datetime


class ConfigurationDraft(_Domain):
    """A configuration not yet stored; its content hash identifies it."""

    phase: Phase
    model: str
    prompt_version_id: int | None = None
    model_version_id: int | None = None
    retrieval: dict[str, Any] | None = None
    routing: dict[str, Any] | None = None
    generation: dict[str, Any] | None = None
    answers: dict[str, Any] | None = None


class GateResult(_Domain):
    """One check's answer with what it saw, what it wanted and why."""

    check: str
    stage: Stage = Stage.PROMOTION
    status: GateStatus
    observed: Scalar = None
    threshold: Scalar = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    detail: str = ""


class DecisionDraft(_Domain):
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


class Decision(_Domain):
    """A recorded decision with its gate results."""

    id: int
    use_case: str
    kind: DecisionKind
    from_phase: Phase
    to_phase: Phase
    configuration_id: int | None
    candidate_configuration_id: int | None
    spec_hash: str
    decided_by: str
    reason: str
    flow_run_id: str | None
    eval_run_ids: list[int]
    gate_results: list[GateResult]
    created_at: datetime


class EvalItem(_Domain):
    """One example of an eval set."""

    id: str
    input: str
    expected: str
    source: str | None = Field(None, description="document the answer comes from, for Q&A")


class ItemResult(_Domain):
    """The outcome of one eval item in one eval run."""

    item_id: str
    score: float | None = Field(None, description="None when the call or the parse failed")
    output: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


class EvalRun(_Domain):
    """A configuration scored on an eval set, with aggregates and per-item results."""

    id: int | None = None
    use_case: str
    configuration_id: int | None
    purpose: str = "eval"
    eval_set_hash: str
    metric: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    error_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    prompt_tokens_per_query: float
    completion_tokens_per_query: float
    cost_per_query: float | None = None
    provider_calls: int = 0
    retries: int = 0
    extra: dict[str, Any] | None = None
    invalid_reason: str | None = Field(
        None, description="why the run is no measurement (too many failed calls); None: valid"
    )
    flow_run_id: str | None = None
    created_at: datetime | None = None
    results: list[ItemResult] = Field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Whether the run is a measurement that gates, baselines and monitoring may read."""
        return self.invalid_reason is None

    def scores(self) -> dict[str, float]:
        """Scores by item id of the items that have one: a failed call is missing, not 0."""
        return {r.item_id: r.score for r in self.results if r.score is not None}
