"""What gate checks read: the transitions, the roles of the compared runs, and `GateInputs`.

Every comparative check holds a *subject* run against a *baseline* run. Who plays which role
depends on the caller; `Roles` names them in details and evidence keys:

- phase check: the active configuration (`active`) against the candidate (`candidate`);
- hybrid check: the tuned model alone (`active`) against the hybrid (`candidate`);
- monitoring: the run recorded at activation (`baseline`) against a fresh run (`current`);
- a rollback target in monitoring: its activation run (`baseline`) against its fresh run
  (`restored`), with every check named `restored_<check>`.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from state.domain import EvalRun, LatencyPairs
from state.phases import Phase
from state.settings import Price
from state.spec import Constraints, Gates, PromptingToRag, RagToFineTuning
from state.spec_metrics import Guardrail

Transition = str
# Transitions come from the order of `Phase`: one per phase that has a next one.
TRANSITIONS: dict[Transition, Phase] = {p.transition: p for p in Phase if p.transition}
THRESHOLDS: dict[Transition, type[PromptingToRag | RagToFineTuning]] = {
    name: Gates.model_fields[name].annotation for name in TRANSITIONS
}


def transition_into(phase: Phase) -> Transition:
    """The transition whose gate guarded the move into `phase` (prompting: its own gate)."""
    earlier = [p for p in Phase if p.next == phase]
    return (earlier[0] if earlier else phase).transition or ""


class Objective(StrEnum):
    """Why a move is made, which decides the rule of its quality check (docs/gates.md)."""

    QUALITY = "quality"  # a real gain is required (superiority)
    COST = "cost"  # equal quality for less money: non-inferiority within max_quality_loss
    RETIREMENT = "retirement"  # the active model shuts down: non-inferiority, plus agreement


class Roles(BaseModel):
    """Names of the baseline and the subject: short nouns for evidence keys, phrases for prose."""

    model_config = ConfigDict(frozen=True)

    baseline: str = "active"
    subject: str = "candidate"
    baseline_name: str = "the active configuration"
    subject_name: str = "the candidate"
    prefix: str = Field("", description="prepended to every check name (`restored_`)")


PHASE_CHECK = Roles()
HYBRID = Roles(baseline_name="the tuned model alone", subject_name="the hybrid")
MONITOR = Roles(
    baseline="baseline",
    subject="current",
    baseline_name="the run recorded when it became active",
    subject_name="the current configuration",
)
RESTORED = MONITOR.model_copy(
    update={
        "subject": "restored",
        "subject_name": "the earlier configuration",
        "prefix": "restored_",
    }
)


class GateInputs(BaseModel):
    """Everything the checks of one transition read, gathered by the flow as plain values."""

    model_config = ConfigDict(frozen=True)

    use_case: str
    transition: Transition
    thresholds: PromptingToRag | RagToFineTuning = Field(description="the spec's gate model")
    constraints: Constraints = Constraints()
    roles: Roles = PHASE_CHECK
    baseline: EvalRun | None = Field(None, description="the run the subject is compared with")
    subject: EvalRun | None = Field(None, description="the run under judgement")
    canary_baseline: EvalRun | None = Field(None, description="the baseline's canary-set run")
    canary_subject: EvalRun | None = Field(None, description="the subject's canary-set run")
    latency_pairs: LatencyPairs | None = Field(
        None, description="baseline and subject latencies measured interleaved in one run"
    )
    tolerated_drop: float = Field(0.0, ge=0, description="monitoring: drop that is no regression")
    guardrails: list[Guardrail] = Field(default_factory=list, description="the spec's guardrails")
    volume_30d: int = Field(0, ge=0)
    documents: int = Field(0, ge=0)
    chunks: int = Field(0, ge=0)
    clean_examples: int = Field(0, ge=0)
    prices_active: Price | None = None
    prices_candidate: Price | None = None
    training_tokens: int | None = Field(None, ge=0, description="training file tokens × epochs")
    self_hosted: bool = False
    golden: dict[str, str] | None = Field(
        None, description="a retirement's golden set: the retiring model's output per item"
    )
    min_agreement: float = Field(0.8, ge=0, le=1, description="agreement the successor needs")
    objective: Objective = Field(Objective.QUALITY, description="why the move is made")
    objective_reason: str = Field(
        "the move is needed for quality", description="why the objective applies, for the detail"
    )

    @model_validator(mode="after")
    def _thresholds_fit_transition(self) -> "GateInputs":
        wanted = THRESHOLDS.get(self.transition)
        if wanted is None:
            raise ValueError(f"transition: {self.transition!r} is not one of {list(THRESHOLDS)}")
        if not isinstance(self.thresholds, wanted):
            got = type(self.thresholds).__name__
            raise ValueError(f"thresholds: {self.transition} needs {wanted.__name__}, got {got}")
        return self

    def runs(self) -> dict[str, int | None]:
        """The ids of the baseline and subject runs, keyed by role, for evidence."""
        return {
            f"{self.roles.baseline}_eval_run_id": self.baseline.id if self.baseline else None,
            f"{self.roles.subject}_eval_run_id": self.subject.id if self.subject else None,
        }


def fine_tuning_thresholds(inputs: GateInputs) -> RagToFineTuning:
    """Return the RAG → fine-tuning thresholds; a check registered elsewhere is a bug."""
    if not isinstance(inputs.thresholds, RagToFineTuning):
        raise TypeError(f"{inputs.transition}: this check needs rag_to_fine_tuning thresholds")
    return inputs.thresholds


def rag_thresholds(inputs: GateInputs) -> PromptingToRag:
    """Return the prompting → RAG thresholds; a check registered elsewhere is a bug."""
    if not isinstance(inputs.thresholds, PromptingToRag):
        raise TypeError(f"{inputs.transition}: this check needs prompting_to_rag thresholds")
    return inputs.thresholds
