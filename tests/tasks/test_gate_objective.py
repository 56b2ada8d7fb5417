"""A move made for cost is judged for cost: the objective read from the need, and its rule."""

import pytest

from state.domain import EvalRun, ItemResult
from state.phases import GateStatus
from state.spec import RagToFineTuning
from tasks.gates import (
    RETIREMENT_CHECKS,
    Objective,
    apply_checks,
    gate_agreement,
    gate_need,
    gate_quality_gain,
    move_objective,
    run_checks,
    verdict,
)
from tasks.gates.verdict import Verdict
from tests.tasks.gate_builders import (
    DOLLAR,
    FAIL,
    INCONCLUSIVE,
    PASS,
    eval_run,
    fine_tuning,
)

COST = {"objective": Objective.COST, "objective_reason": "volume alone"}


def _runs(active: list[float], candidate: list[float]) -> dict:
    return {"baseline": eval_run(active), "subject": eval_run(candidate, run_id=2)}


def test_objective_is_cost_when_quality_meets_its_target_and_volume_needs_the_move() -> None:
    entry = [gate_need(fine_tuning(baseline=eval_run([1.0] * 40), volume_30d=40_000))]
    objective, why = move_objective(entry)
    assert objective == Objective.COST
    assert "meets its target" in why and "volume alone" in why


@pytest.mark.parametrize(
    ("scores", "volume"), [([0.5] * 40, 40_000), ([0.5] * 40, 0), ([1.0] * 40, 0)]
)
def test_objective_is_quality_whenever_quality_is_needed_or_volume_is_not(
    scores: list[float], volume: int
) -> None:
    entry = [gate_need(fine_tuning(baseline=eval_run(scores), volume_30d=volume))]
    assert move_objective(entry)[0] == Objective.QUALITY


def test_issue_case_a_cheaper_fine_tune_one_item_worse_is_not_refused_for_gaining_nothing() -> None:
    # The issue's case: RAG 1.000, the fine-tune 0.975 (one of 40 items lost).
    runs = _runs([1.0] * 40, [1.0] * 39 + [0.0])
    quality = gate_quality_gain(fine_tuning(**runs))
    cost = gate_quality_gain(fine_tuning(**runs, **COST))
    assert quality.status == FAIL and quality.evidence["rule"] == "superiority"
    assert cost.evidence["rule"] == "non_inferiority"
    assert cost.evidence["objective"] == "cost"
    # The interval [-0.075, 0] straddles -0.02: a person decides, nothing is refused.
    assert cost.evidence["ci_low"] < -0.02 < cost.evidence["ci_high"]
    assert cost.status == INCONCLUSIVE
    assert "rule: non-inferiority, objective cost: volume alone" in cost.detail


@pytest.mark.parametrize(
    ("candidate", "margin", "status"),
    [
        ([1.0] * 40, 0.02, PASS),  # equal quality: lower bound 0 > -0.02
        ([1.0] * 39 + [0.0], 0.10, PASS),  # whole interval above -0.10
        ([0.5] * 40, 0.02, FAIL),  # upper bound -0.5 below -0.02
        ([1.0] * 39 + [0.0], 0.02, INCONCLUSIVE),
    ],
    ids=["equal", "loss-within-margin", "loss-beyond-margin", "straddles"],
)
def test_cost_objective_is_non_inferiority_within_max_quality_loss(
    candidate: list[float], margin: float, status: GateStatus
) -> None:
    thresholds = RagToFineTuning(max_quality_loss=margin)
    result = gate_quality_gain(
        fine_tuning(thresholds=thresholds, **_runs([1.0] * 40, candidate), **COST)
    )
    assert (result.status, result.threshold) == (status, -margin)


def test_cost_objective_passes_exactly_on_the_margin_only_strictly_above_it() -> None:
    # Every item loses exactly the margin: the interval is [-0.25, -0.25], not above -0.25.
    thresholds = RagToFineTuning(max_quality_loss=0.25)
    runs = _runs([1.0] * 40, [0.75] * 40)
    result = gate_quality_gain(fine_tuning(thresholds=thresholds, **runs, **COST))
    assert result.status == INCONCLUSIVE


def test_cost_objective_still_needs_min_paired_items() -> None:
    result = gate_quality_gain(fine_tuning(**_runs([1.0] * 10, [1.0] * 10), **COST))
    assert result.status == INCONCLUSIVE and "needed for a verdict" in result.detail


def test_quality_objective_still_needs_a_real_gain_and_says_why() -> None:
    result = gate_quality_gain(fine_tuning(**_runs([1.0] * 40, [1.0] * 40)))
    assert result.status == FAIL
    assert "rule: superiority, objective quality" in result.detail


def test_a_cost_move_advances_only_when_the_cost_gate_passes_too() -> None:
    runs = _runs([1.0] * 40, [1.0] * 40)
    priced = {"prices_active": DOLLAR, "volume_30d": 40_000, **COST}
    # The tuned model is dearer per query than RAG: no savings, so the cost gate fails.
    dear = fine_tuning(
        **runs,
        **priced,
        prices_candidate=DOLLAR.model_copy(update={"input_per_m": 2.0}),
        training_tokens=1000,
    )
    cheap = fine_tuning(
        **runs,
        **priced,
        prices_candidate=DOLLAR.model_copy(update={"input_per_m": 0.1}),
        training_tokens=1000,
    )
    dear_results = {r.check: r for r in run_checks(dear, "promotion")}
    cheap_results = {r.check: r for r in run_checks(cheap, "promotion")}
    assert dear_results["quality_gain"].status == cheap_results["quality_gain"].status == PASS
    assert dear_results["cost_break_even"].status == FAIL
    assert verdict(list(dear_results.values())) == Verdict.HOLD
    assert cheap_results["cost_break_even"].status == PASS
    assert verdict(list(cheap_results.values())) == Verdict.ADVANCE


def _answered(outputs: list[str], run_id: int = 2) -> EvalRun:
    results = [ItemResult(item_id=f"q{i:03d}", score=1.0, output=o) for i, o in enumerate(outputs)]
    return eval_run(results, run_id=run_id)


def _golden(outputs: list[str]) -> dict[str, str]:
    return {f"q{i:03d}": o for i, o in enumerate(outputs)}


def test_agreement_does_not_apply_without_a_golden_set() -> None:
    assert gate_agreement(fine_tuning(subject=_answered(["a"] * 40))) is None


@pytest.mark.parametrize(
    ("differ", "status"), [(0, PASS), (8, PASS), (9, FAIL)], ids=["all", "80%", "below"]
)
def test_agreement_needs_min_agreement_of_the_golden_outputs(differ: int, status) -> None:
    golden = _golden([f"answer {i}" for i in range(40)])
    outputs = [f"other {i}" if i < differ else f"  ANSWER {i} " for i in range(40)]
    result = gate_agreement(fine_tuning(subject=_answered(outputs), golden=golden))
    assert (result.status, result.threshold) == (status, 0.8)
    assert result.evidence["agreed"] == 40 - differ


def test_agreement_is_inconclusive_on_too_few_items_answered_by_both() -> None:
    golden = _golden(["a"] * 10)
    result = gate_agreement(fine_tuning(subject=_answered(["a"] * 40), golden=golden))
    assert result.status == INCONCLUSIVE and result.evidence["paired"] == 10


def test_a_retirement_successor_equal_in_quality_but_answering_otherwise_is_held() -> None:
    # Same scores by accident, different answers: quality passes, agreement fails, so held.
    golden = _golden([f"answer {i}" for i in range(40)])
    inputs = fine_tuning(
        baseline=eval_run([1.0] * 40),
        subject=_answered([f"other {i}" for i in range(40)]),
        golden=golden,
        objective=Objective.RETIREMENT,
        objective_reason="the model shuts down",
    )
    results = {r.check: r for r in apply_checks(RETIREMENT_CHECKS, inputs)}
    assert results["quality_gain"].status == PASS
    assert results["quality_gain"].evidence["rule"] == "non_inferiority"
    assert results["agreement"].status == FAIL
    assert verdict(list(results.values())) == Verdict.HOLD
