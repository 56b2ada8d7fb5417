"""Gate inputs and the checks that hold one measured value against one threshold."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from state.domain import EvalRun, GateResult, Scalar
from state.phases import GateStatus
from state.settings import Price
from state.spec import Constraints, PromptingToRag, RagToFineTuning

Transition = Literal["prompting_to_rag", "rag_to_fine_tuning"]
Stage = Literal["entry", "promotion"]
THRESHOLDS: dict[Transition, type[PromptingToRag | RagToFineTuning]] = {
    "prompting_to_rag": PromptingToRag,
    "rag_to_fine_tuning": RagToFineTuning,
}
PASS, FAIL, INCONCLUSIVE = GateStatus.PASS, GateStatus.FAIL, GateStatus.INCONCLUSIVE


class GateInputs(BaseModel):
    """Everything the checks of one transition read, gathered by the flow as plain values."""

    model_config = ConfigDict(frozen=True)

    use_case: str
    transition: Transition
    thresholds: PromptingToRag | RagToFineTuning = Field(description="the spec's gate model")
    constraints: Constraints = Constraints()
    active: EvalRun | None = None
    candidate: EvalRun | None = None
    canary: EvalRun | None = Field(None, description="the candidate's run on the canary set")
    canary_active: EvalRun | None = Field(
        None, description="the active configuration's run on the canary set"
    )
    volume_30d: int = Field(0, ge=0)
    documents: int = Field(0, ge=0)
    chunks: int = Field(0, ge=0)
    clean_examples: int = Field(0, ge=0)
    prices_active: Price | None = None
    prices_candidate: Price | None = None
    training_tokens: int | None = Field(None, ge=0, description="training file tokens × epochs")
    self_hosted: bool = False

    @model_validator(mode="after")
    def _thresholds_fit_transition(self) -> "GateInputs":
        wanted = THRESHOLDS[self.transition]
        if not isinstance(self.thresholds, wanted):
            got = type(self.thresholds).__name__
            raise ValueError(f"thresholds: {self.transition} needs {wanted.__name__}, got {got}")
        return self


def gate_result(
    check: str,
    stage: Stage,
    status: GateStatus,
    detail: str,
    *,
    observed: Scalar = None,
    threshold: Scalar = None,
    **evidence: Any,
) -> GateResult:
    """Build one check's answer; keyword arguments beyond the named ones become its evidence."""
    return GateResult(
        check=check,
        stage=stage,
        status=status,
        observed=observed,
        threshold=threshold,
        evidence=evidence,
        detail=detail,
    )


def passed(ok: bool) -> GateStatus:
    """Map a met condition to pass and an unmet one to fail."""
    return PASS if ok else FAIL


def worst(*statuses: GateStatus) -> GateStatus:
    """Return the most severe status: fail, then inconclusive, then pass."""
    return next(s for s in (FAIL, INCONCLUSIVE, PASS) if s in statuses)


def fine_tuning_thresholds(inputs: GateInputs) -> RagToFineTuning:
    """Return the RAG → fine-tuning thresholds; a check registered elsewhere is a bug."""
    if not isinstance(inputs.thresholds, RagToFineTuning):
        raise TypeError(f"{inputs.transition}: this check needs rag_to_fine_tuning thresholds")
    return inputs.thresholds


def gate_need_quality(inputs: GateInputs) -> GateResult:
    """Pass when the active configuration scores below the target: the next phase is needed."""
    target, run = inputs.thresholds.target, inputs.active
    if run is None or run.n == 0:
        detail = "no scored eval run of the active configuration yet"
        return gate_result("need_quality", "entry", INCONCLUSIVE, detail, threshold=target)
    needed = run.mean < target
    detail = (
        f"active quality {run.mean:.3f} ({run.metric}, n={run.n}) "
        f"{'is below' if needed else 'meets'} the target {target:.3f}"
    )
    return gate_result(
        "need_quality",
        "entry",
        passed(needed),
        detail,
        observed=run.mean,
        threshold=target,
        active_eval_run_id=run.id,
        n=run.n,
    )


def _need_volume(inputs: GateInputs) -> GateResult:
    """Pass when the 30-day volume reaches the break-even volume."""
    volume, minimum = inputs.volume_30d, fine_tuning_thresholds(inputs).break_even_volume
    needed = volume >= minimum
    verb = "reaches" if needed else "is below"
    detail = f"{volume} queries in 30 days {verb} the break-even volume {minimum}"
    return gate_result(
        "need_volume", "entry", passed(needed), detail, observed=volume, threshold=minimum
    )


def gate_need(inputs: GateInputs) -> GateResult:
    """Pass when fine-tuning is needed for quality or for volume: either need suffices."""
    quality, volume = gate_need_quality(inputs), _need_volume(inputs)
    # Volume is always known, so without it the quality answer decides (inconclusive included).
    status = PASS if volume.status == PASS else quality.status
    met = [name for name, r in (("quality", quality), ("volume", volume)) if r.status == PASS]
    return gate_result(
        "need",
        "entry",
        status,
        f"{quality.detail}; {volume.detail}",
        observed=" and ".join(met) or "none",
        threshold=f"quality < {quality.threshold} or 30-day volume ≥ {volume.threshold}",
        need_quality=quality.model_dump(mode="json"),
        need_volume=volume.model_dump(mode="json"),
    )


def gate_data_documents(inputs: GateInputs) -> GateResult:
    """Pass when enough knowledge documents and chunks exist to retrieve from."""
    gate, documents, chunks = inputs.thresholds, inputs.documents, inputs.chunks
    if not isinstance(gate, PromptingToRag):
        raise TypeError(f"{inputs.transition}: this check needs prompting_to_rag thresholds")
    enough = documents >= gate.min_documents and chunks >= gate.min_chunks
    detail = (
        f"{documents} documents in {chunks} chunks; "
        f"at least {gate.min_documents} and {gate.min_chunks} needed"
    )
    return gate_result(
        "data_documents",
        "entry",
        passed(enough),
        detail,
        observed=documents,
        threshold=gate.min_documents,
        documents=documents,
        chunks=chunks,
        min_documents=gate.min_documents,
        min_chunks=gate.min_chunks,
    )


def gate_data_examples(inputs: GateInputs) -> GateResult:
    """Pass when enough clean training examples exist to fine-tune on."""
    examples, minimum = inputs.clean_examples, fine_tuning_thresholds(inputs).min_examples
    detail = f"{examples} clean training examples; at least {minimum} needed"
    return gate_result(
        "data_examples",
        "entry",
        passed(examples >= minimum),
        detail,
        observed=examples,
        threshold=minimum,
        clean_examples=examples,
        min_examples=minimum,
    )


def gate_privacy(inputs: GateInputs) -> GateResult:
    """Fail when data may not leave the company but the fine-tuning endpoint is external."""
    external_api, self_hosted = inputs.constraints.external_api, inputs.self_hosted
    allowed = external_api or self_hosted
    endpoint = "self-hosted" if self_hosted else "external"
    rule = "any endpoint" if external_api else "self-hosted only (constraints.external_api: false)"
    detail = f"the fine-tuning endpoint is {endpoint}; the spec allows {rule}"
    return gate_result(
        "privacy",
        "entry",
        passed(allowed),
        detail,
        observed=endpoint,
        threshold=rule,
        external_api=external_api,
        self_hosted=self_hosted,
    )


def gate_quality_floor(inputs: GateInputs) -> GateResult:
    """Pass when the candidate's quality reaches the spec's absolute floor."""
    floor, run = inputs.thresholds.floor, inputs.candidate
    if run is None or run.n == 0:
        detail = "no scored eval run of the candidate yet"
        return gate_result("quality_floor", "promotion", INCONCLUSIVE, detail, threshold=floor)
    reached = run.mean >= floor
    detail = (
        f"candidate quality {run.mean:.3f} {'reaches' if reached else 'is below'} "
        f"the floor {floor:.3f}"
    )
    return gate_result(
        "quality_floor",
        "promotion",
        passed(reached),
        detail,
        observed=run.mean,
        threshold=floor,
        candidate_eval_run_id=run.id,
        n=run.n,
    )


def gate_latency(inputs: GateInputs) -> GateResult:
    """Pass when the candidate's p95 latency is within the spec's budget."""
    budget, run = inputs.constraints.latency_p95_ms, inputs.candidate
    if run is None or run.n == 0:
        detail = "no scored eval run of the candidate yet"
        return gate_result("latency", "promotion", INCONCLUSIVE, detail, threshold=budget)
    fast = run.latency_p95_ms <= budget
    detail = (
        f"candidate p95 latency {run.latency_p95_ms:.0f} ms "
        f"{'is within' if fast else 'exceeds'} the budget {budget:.0f} ms"
    )
    return gate_result(
        "latency",
        "promotion",
        passed(fast),
        detail,
        observed=run.latency_p95_ms,
        threshold=budget,
        candidate_eval_run_id=run.id,
        n=run.n,
        p50_ms=run.latency_p50_ms,
    )
