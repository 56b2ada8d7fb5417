"""Every gate threshold at, just above and just below its edge, and a tie that must not advance."""

import pytest

from state.phases import GateStatus
from state.spec import PromptingToRag, RagToFineTuning
from tasks.gates import (
    MONITOR,
    Verdict,
    gate_need,
    gate_need_quality,
    gate_quality_floor,
    gate_quality_gain,
    gate_regression,
    run_checks,
    verdict,
)
from tests.tasks.gate_builders import FAIL, INCONCLUSIVE, PASS, eval_run, fine_tuning, gate_inputs


def test_a_candidate_that_scores_the_active_configuration_on_every_item_is_held() -> None:
    scores = [0.0, 0.5, 1.0] * 20
    inputs = gate_inputs(baseline=eval_run(scores), subject=eval_run(scores, run_id=2))

    results = {r.check: r for r in run_checks(inputs, "promotion")}

    assert results["quality_gain"].status == FAIL
    assert "gains nothing" in results["quality_gain"].detail
    assert verdict(list(results.values())) == Verdict.HOLD


@pytest.mark.parametrize(
    ("mean", "status"), [(0.0, FAIL), (0.01, FAIL)], ids=["at-zero", "above-zero"]
)
def test_a_target_of_zero_never_needs_the_next_phase(mean: float, status: GateStatus) -> None:
    gate = PromptingToRag(target=0.0)
    run = eval_run([mean] * 40)
    assert gate_need_quality(gate_inputs(thresholds=gate, baseline=run)).status == status


@pytest.mark.parametrize(
    ("mean", "status"), [(0.0, PASS), (0.01, PASS)], ids=["at-zero", "above-zero"]
)
def test_a_floor_of_zero_is_no_floor(mean: float, status: GateStatus) -> None:
    gate = PromptingToRag(floor=0.0)
    run = eval_run([mean] * 40)
    assert gate_quality_floor(gate_inputs(thresholds=gate, subject=run)).status == status


@pytest.mark.parametrize(
    ("volume", "status"), [(4999, FAIL), (5000, PASS), (5001, PASS)], ids=["below", "at", "above"]
)
def test_volume_need_at_the_break_even_volume(volume: int, status: GateStatus) -> None:
    result = gate_need(fine_tuning(baseline=eval_run([0.9] * 40), volume_30d=volume))
    assert result.status == status


def test_a_break_even_volume_of_zero_always_needs_fine_tuning() -> None:
    gate = RagToFineTuning(break_even_volume=0)
    result = gate_need(fine_tuning(thresholds=gate, baseline=eval_run([0.9] * 40)))
    assert result.status == PASS


@pytest.mark.parametrize(
    ("pairs", "status"),
    [(29, INCONCLUSIVE), (30, PASS), (31, PASS)],
    ids=["below", "at", "above"],
)
def test_quality_gain_min_paired_edge(pairs: int, status: GateStatus) -> None:
    active, candidate = eval_run([0.0] * pairs), eval_run([1.0] * pairs, run_id=2)
    assert gate_quality_gain(gate_inputs(baseline=active, subject=candidate)).status == status


@pytest.mark.parametrize(
    ("min_gain", "status"),
    [(-0.01, FAIL), (0.0, FAIL), (0.01, FAIL)],
    ids=["below", "at", "above"],
)
def test_a_tie_fails_whatever_min_gain(min_gain: float, status: GateStatus) -> None:
    gate = PromptingToRag(min_gain=min_gain)
    runs = {"baseline": eval_run([0.5] * 40), "subject": eval_run([0.5] * 40, run_id=2)}
    assert gate_quality_gain(gate_inputs(thresholds=gate, **runs)).status == status


@pytest.mark.parametrize(
    ("tolerated_drop", "status"),
    [(0.24, FAIL), (0.25, PASS), (0.26, PASS)],
    ids=["drop-beyond-tolerance", "drop-at-tolerance", "drop-within-tolerance"],
)
def test_regression_at_the_tolerated_drop(tolerated_drop: float, status: GateStatus) -> None:
    # Every item drops by exactly 0.25: the interval is [-0.25, -0.25].
    inputs = gate_inputs(
        thresholds=PromptingToRag(min_paired=10),
        roles=MONITOR,
        tolerated_drop=tolerated_drop,
        baseline=eval_run([0.5] * 40),
        subject=eval_run([0.25] * 40, run_id=2),
    )
    assert gate_regression(inputs).status == status
