"""The monitoring checks and the canary gate at their boundaries."""

from typing import Any

import pytest

from state.phases import GateStatus
from state.spec import RagToFineTuning
from tasks.gates import MONITOR, GateInputs, gate_canary, gate_floor, gate_regression, run_checks
from tests.tasks.gate_builders import eval_run

PASS, FAIL, INCONCLUSIVE = GateStatus.PASS, GateStatus.FAIL, GateStatus.INCONCLUSIVE


def _inputs(**fields: Any) -> GateInputs:
    thresholds = RagToFineTuning(floor=0.3, min_paired=10, min_gain=0.05, min_relative_gain=0.1)
    return GateInputs(
        use_case="tiny-qa", transition="rag_to_fine_tuning", thresholds=thresholds, **fields
    )


def _monitored(tolerated_drop: float, **fields: Any) -> GateInputs:
    return _inputs(roles=MONITOR, tolerated_drop=tolerated_drop, **fields)


BASELINE = [1.0] * 30 + [0.5] * 10


def test_regression_fails_when_the_whole_interval_lies_below_the_tolerated_drop() -> None:
    degraded = [0.0] * 15 + [1.0] * 15 + [0.5] * 10

    result = gate_regression(
        _monitored(0.0, baseline=eval_run(BASELINE, run_id=1), subject=eval_run(degraded, run_id=2))
    )

    assert (result.check, result.stage, result.status) == ("regression", "monitor", FAIL)
    assert result.evidence["ci_high"] < 0
    assert (result.evidence["baseline_eval_run_id"], result.evidence["current_eval_run_id"]) == (
        1,
        2,
    )
    assert result.detail.startswith("regressed: paired mean change -0.375")


def test_regression_passes_an_unchanged_configuration_whatever_the_spec_min_gain() -> None:
    result = gate_regression(
        _monitored(0.0, baseline=eval_run(BASELINE, run_id=1), subject=eval_run(BASELINE, run_id=2))
    )

    assert (result.status, result.threshold) == (PASS, 0.0)


def test_regression_within_the_tolerated_drop_is_not_a_failure() -> None:
    slightly_worse = [1.0] * 28 + [0.0] * 2 + [0.5] * 10

    result = gate_regression(
        _monitored(
            0.2, baseline=eval_run(BASELINE, run_id=1), subject=eval_run(slightly_worse, run_id=2)
        )
    )

    assert result.status == PASS
    assert result.threshold == pytest.approx(-0.2)


def test_regression_is_inconclusive_when_the_interval_straddles_the_bound() -> None:
    mixed = [0.0] * 3 + [1.0] * 27 + [0.6] * 10

    result = gate_regression(
        _monitored(0.0, baseline=eval_run(BASELINE, run_id=1), subject=eval_run(mixed, run_id=2))
    )

    assert result.status == INCONCLUSIVE
    assert result.detail.startswith("may have regressed")


def test_regression_is_inconclusive_without_a_baseline_run() -> None:
    result = gate_regression(_monitored(0.0, subject=eval_run(BASELINE, run_id=2)))

    assert (result.status, result.stage) == (INCONCLUSIVE, "monitor")
    assert "no eval run was recorded" in result.detail


def test_regression_is_inconclusive_with_too_few_paired_items() -> None:
    result = gate_regression(
        _monitored(
            0.0, baseline=eval_run([1.0] * 5, run_id=1), subject=eval_run([0.0] * 5, run_id=2)
        )
    )

    assert result.status == INCONCLUSIVE
    assert "5 paired eval items; 10 needed" in result.detail


def test_floor_fails_a_current_mean_below_the_spec_floor() -> None:
    result = gate_floor(_monitored(0.0, subject=eval_run([0.2] * 40, run_id=2)))

    assert (result.check, result.stage, result.status) == ("floor", "monitor", FAIL)
    assert result.detail == "current quality 0.200 is below the floor 0.300"


def test_canary_check_does_not_apply_without_canary_runs() -> None:
    inputs = _inputs(baseline=eval_run(BASELINE, run_id=1), subject=eval_run(BASELINE, run_id=2))

    assert gate_canary(inputs) is None
    assert "canary" not in [r.check for r in run_checks(inputs, "promotion")]


def test_canary_check_fails_a_candidate_that_forgets() -> None:
    result = gate_canary(
        _inputs(
            canary_baseline=eval_run([0.3] * 12, run_id=5),
            canary_subject=eval_run([0.0] * 12, run_id=6),
        )
    )

    assert (result.check, result.status) == ("canary", FAIL)
    assert result.evidence["active_eval_run_id"] == 5
    assert result.detail.startswith("on the canary set, paired mean gain -0.300")


def test_canary_check_passes_an_unchanged_canary_score_despite_the_spec_min_gain() -> None:
    result = gate_canary(
        _inputs(
            canary_baseline=eval_run([0.3] * 12, run_id=5),
            canary_subject=eval_run([0.3] * 12, run_id=6),
        )
    )

    assert (result.status, result.threshold) == (PASS, 0.0)


def test_canary_check_is_inconclusive_without_the_active_canary_run() -> None:
    result = gate_canary(_inputs(canary_subject=eval_run([0.3] * 12, run_id=6)))

    assert result.status == INCONCLUSIVE


def test_canary_check_runs_with_the_other_promotion_checks() -> None:
    inputs = _inputs(
        canary_baseline=eval_run([0.3] * 12, run_id=5),
        canary_subject=eval_run([0.0] * 12, run_id=6),
    )

    assert [r.check for r in run_checks(inputs, "promotion")][-1] == "canary"
