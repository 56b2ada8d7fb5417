"""Gate checks at their boundaries, the registry and the verdict rules."""

import random
import statistics
from typing import Any

import pytest
from pydantic import ValidationError

from state.domain import EvalRun, GateResult, ItemResult
from state.phases import GateStatus
from state.settings import Price
from state.spec import Constraints, PromptingToRag, RagToFineTuning
from tasks.gate_checks import (
    THRESHOLDS,
    GateInputs,
    Transition,
    gate_data_documents,
    gate_data_examples,
    gate_latency,
    gate_need,
    gate_need_quality,
    gate_privacy,
    gate_quality_floor,
)
from tasks.gates import (
    CHECKS,
    entry_met,
    entry_reason,
    gate_canary,
    gate_cost_break_even,
    gate_quality_gain,
    run_checks,
    verdict,
)

PASS, FAIL, INCONCLUSIVE = GateStatus.PASS, GateStatus.FAIL, GateStatus.INCONCLUSIVE


def eval_run(
    scores: list[float] | dict[str, float],
    *,
    run_id: int = 1,
    mean: float | None = None,
    p95_ms: float = 500.0,
    tokens: tuple[float, float] = (1000.0, 0.0),
) -> EvalRun:
    """An eval run with per-item scores (ids q000… for a list) and chosen aggregates."""
    by_id = scores if isinstance(scores, dict) else {f"q{i:03d}": s for i, s in enumerate(scores)}
    values = list(by_id.values())
    if mean is None:
        mean = statistics.fmean(values) if values else 0.0
    return EvalRun(
        id=run_id,
        use_case="support-qa",
        configuration_id=run_id,
        eval_set_hash="e" * 64,
        metric="accuracy",
        n=len(values),
        mean=mean,
        ci_low=0.0,
        ci_high=1.0,
        error_rate=0.0,
        latency_p50_ms=p95_ms / 2,
        latency_p95_ms=p95_ms,
        prompt_tokens_per_query=tokens[0],
        completion_tokens_per_query=tokens[1],
        results=[ItemResult(item_id=item, score=score) for item, score in by_id.items()],
    )


def gate_inputs(transition: Transition = "prompting_to_rag", **fields: Any) -> GateInputs:
    """Inputs for one transition with the spec's default thresholds unless given."""
    fields.setdefault("thresholds", THRESHOLDS[transition]())
    return GateInputs(use_case="support-qa", transition=transition, **fields)


def fine_tuning(**fields: Any) -> GateInputs:
    """Inputs of the RAG → fine-tuning transition."""
    return gate_inputs("rag_to_fine_tuning", **fields)


@pytest.mark.parametrize(
    ("mean", "status"),
    [(0.79, PASS), (0.8, FAIL), (0.81, FAIL)],
    ids=["just-below", "at", "just-above"],
)
def test_need_quality_passes_only_below_the_target(mean: float, status: GateStatus) -> None:
    result = gate_need_quality(gate_inputs(active=eval_run([0.5] * 40, mean=mean)))
    assert (result.status, result.observed, result.threshold) == (status, mean, 0.8)


@pytest.mark.parametrize("active", [None, eval_run([])], ids=["no-run", "empty-run"])
def test_need_quality_is_inconclusive_without_a_scored_active_run(active: EvalRun | None) -> None:
    assert gate_need_quality(gate_inputs(active=active)).status == INCONCLUSIVE


@pytest.mark.parametrize(
    ("mean", "volume", "status"),
    [
        (0.5, 0, PASS),
        (0.9, 5000, PASS),
        (0.9, 4999, FAIL),
        (0.5, 5001, PASS),
        (None, 4999, INCONCLUSIVE),
        (None, 5000, PASS),
    ],
    ids=[
        "quality-only",
        "volume-at-break-even",
        "volume-just-below-and-quality-met",
        "both",
        "quality-unknown-volume-low",
        "quality-unknown-volume-enough",
    ],
)
def test_need_passes_when_either_need_holds(
    mean: float | None, volume: int, status: GateStatus
) -> None:
    active = None if mean is None else eval_run([0.5] * 40, mean=mean)
    assert gate_need(fine_tuning(active=active, volume_30d=volume)).status == status


def test_need_shows_both_needs_in_its_evidence() -> None:
    result = gate_need(fine_tuning(active=eval_run([0.5] * 40, mean=0.9), volume_30d=6000))
    assert result.observed == "volume"
    assert result.evidence["need_quality"]["status"] == "fail"
    assert result.evidence["need_volume"]["status"] == "pass"
    assert result.evidence["need_volume"]["observed"] == 6000


@pytest.mark.parametrize(
    ("documents", "chunks", "status"),
    [(2, 10, FAIL), (3, 10, PASS), (4, 10, PASS), (3, 4, FAIL), (3, 5, PASS)],
    ids=["documents-below", "documents-at", "documents-above", "chunks-below", "chunks-at"],
)
def test_data_documents_needs_both_minimums(
    documents: int, chunks: int, status: GateStatus
) -> None:
    gate = PromptingToRag(min_documents=3, min_chunks=5)
    result = gate_data_documents(gate_inputs(thresholds=gate, documents=documents, chunks=chunks))
    assert result.status == status
    assert result.evidence == {
        "documents": documents,
        "chunks": chunks,
        "min_documents": 3,
        "min_chunks": 5,
    }


@pytest.mark.parametrize(("examples", "status"), [(499, FAIL), (500, PASS), (501, PASS)])
def test_data_examples_needs_the_minimum_of_clean_examples(
    examples: int, status: GateStatus
) -> None:
    result = gate_data_examples(fine_tuning(clean_examples=examples))
    assert (result.status, result.observed, result.threshold) == (status, examples, 500)


@pytest.mark.parametrize(
    ("external_api", "self_hosted", "status"),
    [(True, False, PASS), (True, True, PASS), (False, True, PASS), (False, False, FAIL)],
)
def test_privacy_forbids_only_external_fine_tuning_of_internal_data(
    external_api: bool, self_hosted: bool, status: GateStatus
) -> None:
    constraints = Constraints(external_api=external_api)
    result = gate_privacy(fine_tuning(constraints=constraints, self_hosted=self_hosted))
    assert result.status == status


def test_quality_gain_passes_when_the_lower_bound_is_exactly_min_gain() -> None:
    result = gate_quality_gain(
        gate_inputs(active=eval_run([0.5] * 40), candidate=eval_run([0.5] * 40))
    )
    assert result.status == PASS
    assert (result.evidence["ci_low"], result.evidence["ci_high"]) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("min_gain", "status"),
    [(0.24, PASS), (0.25, PASS), (0.26, FAIL)],
    ids=["just-below", "at", "just-above"],
)
def test_quality_gain_compares_the_interval_with_min_gain(
    min_gain: float, status: GateStatus
) -> None:
    gate = PromptingToRag(min_gain=min_gain)
    active, candidate = eval_run([0.5] * 40), eval_run([0.75] * 40, run_id=2)
    result = gate_quality_gain(gate_inputs(thresholds=gate, active=active, candidate=candidate))
    assert (result.status, result.observed) == (status, 0.25)


def test_quality_gain_does_not_fail_when_the_upper_bound_is_exactly_min_gain() -> None:
    # One item of 40 loses 0.5; a third of the resamples miss it, so the upper bound is 0.0.
    active, candidate = eval_run([0.5] * 40), eval_run([0.5] * 39 + [0.0], run_id=2)
    result = gate_quality_gain(gate_inputs(active=active, candidate=candidate))
    assert result.evidence["ci_high"] == 0.0
    assert result.evidence["ci_low"] < 0.0
    assert result.status == INCONCLUSIVE


def test_quality_gain_is_inconclusive_when_the_interval_straddles_min_gain() -> None:
    active = eval_run([0.0, 1.0] * 20)
    candidate = eval_run([1.0, 0.0] * 20, run_id=2)
    result = gate_quality_gain(gate_inputs(active=active, candidate=candidate))
    assert result.status == INCONCLUSIVE
    assert result.evidence["ci_low"] < 0.0 < result.evidence["ci_high"]


@pytest.mark.parametrize(("pairs", "status"), [(29, INCONCLUSIVE), (30, PASS)])
def test_quality_gain_needs_min_paired_items(pairs: int, status: GateStatus) -> None:
    active, candidate = eval_run([0.0] * pairs), eval_run([1.0] * pairs, run_id=2)
    result = gate_quality_gain(gate_inputs(active=active, candidate=candidate))
    assert (result.status, result.evidence["paired"]) == (status, pairs)


def test_quality_gain_ignores_items_missing_from_either_run() -> None:
    shared = {f"q{i:03d}": 0.5 for i in range(30)}
    active = eval_run(shared | {"active-only": 0.0})
    candidate = eval_run(shared | {"new-1": 1.0, "new-2": 1.0}, run_id=2)
    result = gate_quality_gain(gate_inputs(active=active, candidate=candidate))
    assert result.observed == 0.0
    assert (result.evidence["paired"], result.evidence["active_only"]) == (30, 1)
    assert result.evidence["candidate_only"] == 2


def _noisy_runs() -> tuple[EvalRun, EvalRun]:
    rng = random.Random(4)
    active = eval_run([rng.random() for _ in range(60)])
    candidate = eval_run([rng.random() for _ in range(60)], run_id=2)
    return active, candidate


def test_quality_gain_is_reproducible_with_its_seed() -> None:
    active, candidate = _noisy_runs()
    first = gate_quality_gain(gate_inputs(active=active, candidate=candidate))
    assert gate_quality_gain(gate_inputs(active=active, candidate=candidate)) == first


def test_quality_gain_interval_changes_with_another_seed() -> None:
    active, candidate = _noisy_runs()
    first = gate_quality_gain(gate_inputs(active=active, candidate=candidate))
    gate = PromptingToRag(seed=1)
    other = gate_quality_gain(gate_inputs(thresholds=gate, active=active, candidate=candidate))
    assert other.evidence["ci_low"] != first.evidence["ci_low"]
    assert other.evidence["seed"] == 1


@pytest.mark.parametrize(
    ("min_relative_gain", "status"),
    [(0.49, PASS), (0.5, PASS), (0.51, FAIL)],
    ids=["just-below", "at", "just-above"],
)
def test_quality_gain_checks_the_relative_gain(
    min_relative_gain: float, status: GateStatus
) -> None:
    gate = PromptingToRag(min_relative_gain=min_relative_gain)
    active, candidate = eval_run([0.5] * 40), eval_run([0.75] * 40, run_id=2)
    result = gate_quality_gain(gate_inputs(thresholds=gate, active=active, candidate=candidate))
    assert (result.status, result.evidence["relative_gain"]) == (status, 0.5)


def test_quality_gain_relative_gain_over_a_zero_active_mean_is_inconclusive() -> None:
    gate = PromptingToRag(min_relative_gain=0.1)
    active, candidate = eval_run([0.0] * 40), eval_run([1.0] * 40, run_id=2)
    result = gate_quality_gain(gate_inputs(thresholds=gate, active=active, candidate=candidate))
    assert result.status == INCONCLUSIVE
    assert result.evidence["relative_gain"] is None


@pytest.mark.parametrize("missing", ["active", "candidate"])
def test_quality_gain_is_inconclusive_without_both_runs(missing: str) -> None:
    runs = {"active": eval_run([0.5] * 40), "candidate": eval_run([0.9] * 40, run_id=2)}
    runs[missing] = None
    assert gate_quality_gain(gate_inputs(**runs)).status == INCONCLUSIVE


@pytest.mark.parametrize(("mean", "status"), [(0.59, FAIL), (0.6, PASS), (0.61, PASS)])
def test_quality_floor_needs_the_candidate_at_or_above_the_floor(
    mean: float, status: GateStatus
) -> None:
    gate = PromptingToRag(floor=0.6)
    result = gate_quality_floor(
        gate_inputs(thresholds=gate, candidate=eval_run([0.5] * 40, mean=mean))
    )
    assert (result.status, result.observed, result.threshold) == (status, mean, 0.6)


@pytest.mark.parametrize(("p95_ms", "status"), [(1999.0, PASS), (2000.0, PASS), (2001.0, FAIL)])
def test_latency_needs_p95_within_the_budget(p95_ms: float, status: GateStatus) -> None:
    result = gate_latency(gate_inputs(candidate=eval_run([0.5] * 40, p95_ms=p95_ms)))
    assert (result.status, result.observed, result.threshold) == (status, p95_ms, 2000.0)


@pytest.mark.parametrize("check", [gate_quality_floor, gate_latency])
def test_candidate_checks_are_inconclusive_without_a_scored_candidate(check: Any) -> None:
    assert check(gate_inputs(candidate=None)).status == INCONCLUSIVE
    assert check(gate_inputs(candidate=eval_run([]))).status == INCONCLUSIVE


# 1,000 prompt tokens a query at $1 per 1M: $0.001 a query; the tuned model costs nothing per
# query, so 1,000 queries save exactly $1.00 a month and N training tokens cost $N / 1M.
DOLLAR = Price(input_per_m=1.0, output_per_m=0.0)
TUNED = Price(input_per_m=0.0, output_per_m=0.0, training_per_m=1.0)


def cost_inputs(**fields: Any) -> GateInputs:
    """Break-even inputs where the months to recover equal training tokens / 1M."""
    values: dict[str, Any] = {
        "active": eval_run([0.5] * 40, tokens=(1000.0, 0.0)),
        "candidate": eval_run([0.5] * 40, run_id=2, tokens=(1000.0, 0.0)),
        "volume_30d": 1000,
        "prices_active": DOLLAR,
        "prices_candidate": TUNED,
        "training_tokens": 6_000_000,
    }
    return fine_tuning(**values | fields)


@pytest.mark.parametrize(
    ("training_tokens", "status"),
    [(5_999_999, PASS), (6_000_000, PASS), (6_000_001, FAIL)],
    ids=["just-below", "at", "just-above"],
)
def test_cost_break_even_allows_at_most_the_maximum_months(
    training_tokens: int, status: GateStatus
) -> None:
    result = gate_cost_break_even(cost_inputs(training_tokens=training_tokens))
    assert (result.status, result.observed) == (status, training_tokens / 1_000_000)


def test_cost_break_even_shows_every_number_used() -> None:
    evidence = gate_cost_break_even(cost_inputs()).evidence
    assert evidence["cost_per_query_active"] == 0.001
    assert evidence["cost_per_query_candidate"] == 0.0
    assert evidence["monthly_savings"] == 1.0
    assert evidence["training_cost"] == 6.0
    assert evidence["months"] == 6.0
    assert evidence["volume_30d"] == 1000
    assert evidence["prices_candidate"]["training_per_m"] == 1.0
    assert evidence["tokens_active"] == {"prompt": 1000.0, "completion": 0.0}
    assert (evidence["active_eval_run_id"], evidence["candidate_eval_run_id"]) == (1, 2)


@pytest.mark.parametrize("hosting", [1.0, 2.0], ids=["zero-savings", "negative-savings"])
def test_cost_break_even_fails_without_positive_savings(hosting: float) -> None:
    prices = TUNED.model_copy(update={"hosting_per_month": hosting})
    result = gate_cost_break_even(cost_inputs(prices_candidate=prices))
    assert (result.status, result.observed) == (FAIL, None)


@pytest.mark.parametrize(
    "missing",
    [
        {"prices_active": None},
        {"prices_candidate": None},
        {"training_tokens": None},
        {"candidate": None},
        {"volume_30d": 0},
    ],
    ids=["active-price", "candidate-price", "training-tokens", "candidate-run", "no-volume"],
)
def test_cost_break_even_is_inconclusive_without_its_numbers(missing: dict[str, Any]) -> None:
    result = gate_cost_break_even(cost_inputs(**missing))
    assert result.status == INCONCLUSIVE
    assert "cannot estimate the break-even without" in result.detail


@pytest.mark.parametrize(
    ("transition", "stage", "names"),
    [
        ("prompting_to_rag", "entry", ["need_quality", "data_documents"]),
        ("prompting_to_rag", "promotion", ["quality_gain", "quality_floor", "latency"]),
        ("rag_to_fine_tuning", "entry", ["need", "data_examples", "privacy"]),
        (
            "rag_to_fine_tuning",
            "promotion",
            ["quality_gain", "quality_floor", "latency", "cost_break_even"],
        ),
    ],
)
def test_run_checks_runs_the_registered_checks_of_a_stage(
    transition: Transition, stage: Any, names: list[str]
) -> None:
    results = run_checks(gate_inputs(transition), stage)
    assert [r.check for r in results] == names
    assert {r.stage for r in results} == {stage}
    assert len([c for c in CHECKS[transition][stage] if c is not gate_canary]) == len(names)


def test_run_checks_with_no_evidence_never_passes_a_promotion() -> None:
    results = run_checks(fine_tuning(), "promotion")
    assert {r.status for r in results} == {INCONCLUSIVE}
    assert verdict(results) == "ask"


def test_gate_inputs_refuse_thresholds_of_another_transition() -> None:
    with pytest.raises(ValidationError, match="rag_to_fine_tuning needs RagToFineTuning"):
        gate_inputs("rag_to_fine_tuning", thresholds=PromptingToRag())


def test_gate_inputs_survive_a_json_round_trip() -> None:
    inputs = fine_tuning(active=eval_run([0.5] * 3), prices_active=DOLLAR, training_tokens=7)
    again = GateInputs.model_validate_json(inputs.model_dump_json())
    assert again == inputs
    assert isinstance(again.thresholds, RagToFineTuning)


@pytest.mark.parametrize(
    ("check", "transition"),
    [(gate_data_examples, "prompting_to_rag"), (gate_data_documents, "rag_to_fine_tuning")],
)
def test_checks_refuse_the_thresholds_of_another_transition(
    check: Any, transition: Transition
) -> None:
    with pytest.raises(TypeError, match="thresholds"):
        check(gate_inputs(transition))


def _results(*statuses: GateStatus) -> list[GateResult]:
    return [GateResult(check=f"c{i}", status=s) for i, s in enumerate(statuses)]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((PASS, PASS), "advance"),
        ((PASS, FAIL), "hold"),
        ((INCONCLUSIVE, FAIL), "hold"),
        ((PASS, INCONCLUSIVE), "ask"),
        ((INCONCLUSIVE,), "ask"),
        ((), "ask"),
    ],
    ids=[
        "all-pass",
        "a-fail",
        "fail-beats-inconclusive",
        "inconclusive",
        "only-inconclusive",
        "none",
    ],
)
def test_verdict_advances_only_when_everything_passed(
    statuses: tuple[GateStatus, ...], expected: str
) -> None:
    assert verdict(_results(*statuses)) == expected


@pytest.mark.parametrize(
    ("statuses", "met"),
    [((PASS, PASS), True), ((PASS, INCONCLUSIVE), False), ((PASS, FAIL), False), ((), False)],
)
def test_entry_met_needs_every_entry_check_to_pass(
    statuses: tuple[GateStatus, ...], met: bool
) -> None:
    assert entry_met(_results(*statuses)) is met


def test_entry_reason_names_the_checks_that_did_not_pass() -> None:
    results = run_checks(gate_inputs(active=eval_run([0.9] * 40), documents=0, chunks=0), "entry")
    reason = entry_reason(results)
    assert reason.startswith("entry not met: need_quality fail: active quality 0.900")
    assert "data_documents fail: 0 documents in 0 chunks" in reason


def test_entry_reason_without_results_says_nothing_ran() -> None:
    assert entry_reason([]) == "no entry checks ran"


def test_entry_reason_of_a_met_entry_lists_every_check() -> None:
    inputs = gate_inputs(active=eval_run([0.5] * 40), documents=2, chunks=9)
    reason = entry_reason(run_checks(inputs, "entry"))
    assert reason.startswith("entry met: need_quality: active quality 0.500")
    assert "data_documents: 2 documents in 9 chunks" in reason
