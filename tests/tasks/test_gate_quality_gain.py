"""The quality-gain check: its bootstrap interval, relative gain, pairing and seed."""

import random

import pytest

from state.domain import EvalRun
from state.phases import GateStatus
from state.spec import PromptingToRag
from tasks.gates import gate_quality_gain
from tests.tasks.gate_builders import FAIL, INCONCLUSIVE, PASS, eval_run, gate_inputs


def test_quality_gain_fails_a_tie_whose_interval_is_exactly_min_gain() -> None:
    result = gate_quality_gain(
        gate_inputs(baseline=eval_run([0.5] * 40), subject=eval_run([0.5] * 40))
    )
    assert result.status == FAIL
    assert (result.evidence["ci_low"], result.evidence["ci_high"]) == (0.0, 0.0)
    assert result.detail.startswith("the candidate gains nothing over the active configuration")
    assert "lower bound > min_gain +0.000 and a positive mean gain" in result.detail


@pytest.mark.parametrize(
    ("min_gain", "status"),
    [(0.24, PASS), (0.25, FAIL), (0.26, FAIL)],
    ids=["just-below", "at", "just-above"],
)
def test_quality_gain_passes_only_a_lower_bound_strictly_above_min_gain(
    min_gain: float, status: GateStatus
) -> None:
    gate = PromptingToRag(min_gain=min_gain)
    active, candidate = eval_run([0.5] * 40), eval_run([0.75] * 40, run_id=2)
    result = gate_quality_gain(gate_inputs(thresholds=gate, baseline=active, subject=candidate))
    assert (result.status, result.observed) == (status, 0.25)


def test_quality_gain_fails_when_the_upper_bound_is_exactly_min_gain() -> None:
    # One item of 40 loses 0.5; a third of the resamples miss it, so the upper bound is 0.0.
    active, candidate = eval_run([0.5] * 40), eval_run([0.5] * 39 + [0.0], run_id=2)
    result = gate_quality_gain(gate_inputs(baseline=active, subject=candidate))
    assert result.evidence["ci_high"] == 0.0
    assert result.evidence["ci_low"] < 0.0
    assert result.status == FAIL


@pytest.mark.parametrize(
    ("min_gain", "status"), [(-0.001, PASS), (0.0, INCONCLUSIVE)], ids=["just-below", "at"]
)
def test_quality_gain_with_a_lower_bound_at_min_gain_and_a_positive_mean_is_not_a_pass(
    min_gain: float, status: GateStatus
) -> None:
    # One item of 40 gains 0.5; a third of the resamples miss it, so the lower bound is 0.0.
    active, candidate = eval_run([0.5] * 40), eval_run([0.5] * 39 + [1.0], run_id=2)
    gate = PromptingToRag(min_gain=min_gain)
    result = gate_quality_gain(gate_inputs(thresholds=gate, baseline=active, subject=candidate))
    assert result.evidence["ci_low"] == 0.0 < result.evidence["ci_high"]
    assert result.status == status


def test_quality_gain_is_inconclusive_when_the_interval_straddles_min_gain() -> None:
    active = eval_run([0.0, 1.0] * 20)
    candidate = eval_run([1.0, 0.0] * 20, run_id=2)
    result = gate_quality_gain(gate_inputs(baseline=active, subject=candidate))
    assert result.status == INCONCLUSIVE
    assert result.evidence["ci_low"] < 0.0 < result.evidence["ci_high"]


@pytest.mark.parametrize(("pairs", "status"), [(29, INCONCLUSIVE), (30, PASS)])
def test_quality_gain_needs_min_paired_items(pairs: int, status: GateStatus) -> None:
    active, candidate = eval_run([0.0] * pairs), eval_run([1.0] * pairs, run_id=2)
    result = gate_quality_gain(gate_inputs(baseline=active, subject=candidate))
    assert (result.status, result.evidence["paired"]) == (status, pairs)


def test_quality_gain_ignores_items_missing_from_either_run() -> None:
    shared = {f"q{i:03d}": 0.5 for i in range(30)}
    active = eval_run(shared | {"active-only": 0.0})
    candidate = eval_run(shared | {"new-1": 1.0, "new-2": 1.0}, run_id=2)
    result = gate_quality_gain(gate_inputs(baseline=active, subject=candidate))
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
    first = gate_quality_gain(gate_inputs(baseline=active, subject=candidate))
    assert gate_quality_gain(gate_inputs(baseline=active, subject=candidate)) == first


def test_quality_gain_interval_changes_with_another_seed() -> None:
    active, candidate = _noisy_runs()
    first = gate_quality_gain(gate_inputs(baseline=active, subject=candidate))
    gate = PromptingToRag(seed=1)
    other = gate_quality_gain(gate_inputs(thresholds=gate, baseline=active, subject=candidate))
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
    result = gate_quality_gain(gate_inputs(thresholds=gate, baseline=active, subject=candidate))
    assert (result.status, result.evidence["relative_gain"]) == (status, 0.5)


def test_quality_gain_relative_gain_over_a_zero_active_mean_is_inconclusive() -> None:
    gate = PromptingToRag(min_relative_gain=0.1)
    active, candidate = eval_run([0.0] * 40), eval_run([1.0] * 40, run_id=2)
    result = gate_quality_gain(gate_inputs(thresholds=gate, baseline=active, subject=candidate))
    assert result.status == INCONCLUSIVE
    assert result.evidence["relative_gain"] is None


@pytest.mark.parametrize("missing", ["baseline", "subject"])
def test_quality_gain_is_inconclusive_without_both_runs(missing: str) -> None:
    runs = {"baseline": eval_run([0.5] * 40), "subject": eval_run([0.9] * 40, run_id=2)}
    runs[missing] = None
    assert gate_quality_gain(gate_inputs(**runs)).status == INCONCLUSIVE
