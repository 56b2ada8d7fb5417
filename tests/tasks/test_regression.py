"""The monitoring checks and the canary gate at their boundaries."""

from typing import Any

import pytest

from state.domain import EvalRun, ItemResult
from state.phases import GateStatus
from state.spec import RagToFineTuning
from tasks.gate_checks import GateInputs
from tasks.gates import gate_canary, run_checks
from tasks.regression import gate_floor, gate_regression

PASS, FAIL, INCONCLUSIVE = GateStatus.PASS, GateStatus.FAIL, GateStatus.INCONCLUSIVE


def _run(scores: list[float], run_id: int) -> EvalRun:
    return EvalRun(
        id=run_id,
        use_case="tiny-qa",
        configuration_id=3,
        eval_set_hash="e" * 64,
        metric="token_f1",
        n=len(scores),
        mean=sum(scores) / len(scores),
        ci_low=0.0,
        ci_high=1.0,
        error_rate=0.0,
        latency_p50_ms=10.0,
        latency_p95_ms=20.0,
        prompt_tokens_per_query=10.0,
        completion_tokens_per_query=2.0,
        results=[ItemResult(item_id=f"q{i:03d}", score=s) for i, s in enumerate(scores)],
    )


def _inputs(**fields: Any) -> GateInputs:
    thresholds = RagToFineTuning(floor=0.3, min_paired=10, min_gain=0.05, min_relative_gain=0.1)
    return GateInputs(
        use_case="tiny-qa", transition="rag_to_fine_tuning", thresholds=thresholds, **fields
    )


BASELINE = [1.0] * 30 + [0.5] * 10


def test_regression_fails_when_the_whole_interval_lies_below_the_tolerated_drop() -> None:
    degraded = [0.0] * 15 + [1.0] * 15 + [0.5] * 10

    result = gate_regression(_inputs(active=_run(BASELINE, 1), candidate=_run(degraded, 2)), 0.0)

    assert (result.check, result.stage, result.status) == ("regression", "monitor", FAIL)
    assert result.evidence["ci_high"] < 0
    assert (result.evidence["baseline_eval_run_id"], result.evidence["current_eval_run_id"]) == (
        1,
        2,
    )
    assert result.detail.startswith("regressed: paired mean change -0.375")


def test_regression_passes_an_unchanged_configuration_whatever_the_spec_min_gain() -> None:
    result = gate_regression(_inputs(active=_run(BASELINE, 1), candidate=_run(BASELINE, 2)), 0.0)

    assert (result.status, result.threshold) == (PASS, 0.0)


def test_regression_within_the_tolerated_drop_is_not_a_failure() -> None:
    slightly_worse = [1.0] * 28 + [0.0] * 2 + [0.5] * 10

    result = gate_regression(
        _inputs(active=_run(BASELINE, 1), candidate=_run(slightly_worse, 2)), 0.2
    )

    assert result.status == PASS
    assert result.threshold == pytest.approx(-0.2)


def test_regression_is_inconclusive_when_the_interval_straddles_the_bound() -> None:
    mixed = [0.0] * 3 + [1.0] * 27 + [0.6] * 10

    result = gate_regression(_inputs(active=_run(BASELINE, 1), candidate=_run(mixed, 2)), 0.0)

    assert result.status == INCONCLUSIVE
    assert result.detail.startswith("may have regressed")


def test_regression_is_inconclusive_without_a_baseline_run() -> None:
    result = gate_regression(_inputs(candidate=_run(BASELINE, 2)), 0.0)

    assert (result.status, result.stage) == (INCONCLUSIVE, "monitor")
    assert "no eval run was recorded" in result.detail


def test_regression_is_inconclusive_with_too_few_paired_items() -> None:
    result = gate_regression(_inputs(active=_run([1.0] * 5, 1), candidate=_run([0.0] * 5, 2)), 0.0)

    assert result.status == INCONCLUSIVE
    assert "5 paired eval items; 10 needed" in result.detail


def test_floor_fails_a_current_mean_below_the_spec_floor() -> None:
    result = gate_floor(_inputs(candidate=_run([0.2] * 40, 2)))

    assert (result.check, result.stage, result.status) == ("floor", "monitor", FAIL)
    assert result.detail == "current quality 0.200 is below the floor 0.300"


def test_canary_check_does_not_apply_without_canary_runs() -> None:
    inputs = _inputs(active=_run(BASELINE, 1), candidate=_run(BASELINE, 2))

    assert gate_canary(inputs) is None
    assert "canary" not in [r.check for r in run_checks(inputs, "promotion")]


def test_canary_check_fails_a_candidate_that_forgets() -> None:
    result = gate_canary(_inputs(canary_active=_run([0.3] * 12, 5), canary=_run([0.0] * 12, 6)))

    assert (result.check, result.status) == ("canary", FAIL)
    assert result.evidence["active_eval_run_id"] == 5
    assert result.detail.startswith("on the canary set, paired mean gain -0.300")


def test_canary_check_passes_an_unchanged_canary_score_despite_the_spec_min_gain() -> None:
    result = gate_canary(_inputs(canary_active=_run([0.3] * 12, 5), canary=_run([0.3] * 12, 6)))

    assert (result.status, result.threshold) == (PASS, 0.0)


def test_canary_check_is_inconclusive_without_the_active_canary_run() -> None:
    result = gate_canary(_inputs(canary=_run([0.3] * 12, 6)))

    assert result.status == INCONCLUSIVE


def test_canary_check_runs_with_the_other_promotion_checks() -> None:
    inputs = _inputs(canary_active=_run([0.3] * 12, 5), canary=_run([0.0] * 12, 6))

    assert [r.check for r in run_checks(inputs, "promotion")][-1] == "canary"
