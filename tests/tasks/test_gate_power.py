"""The entry check eval_power: the paired design's detectable gain against the required one."""

import math

import pytest

from state.phases import GateStatus
from state.spec import PromptingToRag
from tasks.gates import gate_eval_power, run_checks
from tasks.gates.power import Z, detectable_gain, difference_sd, items_needed
from tests.tasks.gate_builders import INCONCLUSIVE, PASS, eval_run, gate_inputs


def test_the_multiplier_is_95_percent_confidence_and_80_percent_power() -> None:
    assert Z == pytest.approx(1.95996 + 0.84162, abs=1e-4)


def test_items_needed_and_detectable_gain_are_inverse() -> None:
    sd = 0.255
    needed = items_needed(sd, 0.06)
    assert detectable_gain(sd, needed) <= 0.06 < detectable_gain(sd, needed - 1)
    # A third of the gain needs about nine times the items.
    assert items_needed(sd, 0.02) == pytest.approx(9 * needed, rel=0.02)


def test_difference_sd_doubles_the_variance_of_varying_scores() -> None:
    assert difference_sd([0.0, 1.0] * 10, 0.1) == pytest.approx(math.sqrt(2) * 0.51298, rel=1e-4)


def test_difference_sd_of_constant_scores_is_the_spread_at_the_hoped_for_mean() -> None:
    assert difference_sd([0.0] * 10, 0.1) == pytest.approx(0.3)
    assert difference_sd([1.0] * 10, 0.1) == 0.0


@pytest.mark.parametrize(
    ("items", "status"), [(70, INCONCLUSIVE), (71, PASS), (72, PASS)], ids=["below", "at", "above"]
)
def test_eval_power_at_the_items_needed(items: int, status: GateStatus) -> None:
    # Constant scores: σ_d = √(0.1 · 0.9) = 0.3, so 0.1 needs ⌈(2.8016 · 3)²⌉ = 71 items.
    gate = PromptingToRag(min_detectable_gain=0.1)
    result = gate_eval_power(gate_inputs(thresholds=gate, baseline=eval_run([0.0] * items)))
    assert (result.status, result.evidence["items_needed"]) == (status, 71)


def test_eval_power_says_how_many_items_a_small_min_gain_needs() -> None:
    scores = [0.0] * 20 + [0.5] * 100 + [1.0] * 22
    gate = PromptingToRag(min_gain=0.02)

    result = gate_eval_power(gate_inputs(thresholds=gate, baseline=eval_run(scores)))

    assert result.status == INCONCLUSIVE
    assert result.detail.startswith("142 items detect gains ≥ 0.091; min_gain 0.02 needs ≈ 2,900")
    assert result.evidence["items_needed"] > 142


def test_eval_power_does_not_apply_to_a_min_gain_of_zero_without_a_detectable_gain() -> None:
    inputs = gate_inputs(baseline=eval_run([0.5] * 40))
    assert gate_eval_power(inputs) is None
    assert "eval_power" not in [r.check for r in run_checks(inputs, "entry")]


def test_eval_power_is_inconclusive_without_an_active_run() -> None:
    gate = PromptingToRag(min_gain=0.05)
    assert gate_eval_power(gate_inputs(thresholds=gate)).status == INCONCLUSIVE


def test_an_underpowered_eval_set_holds_the_entry() -> None:
    gate = PromptingToRag(min_gain=0.02)
    inputs = gate_inputs(thresholds=gate, baseline=eval_run([0.0, 1.0] * 20), documents=3, chunks=9)
    results = {r.check: r.status for r in run_checks(inputs, "entry")}
    assert results == {"need_quality": PASS, "data_documents": PASS, "eval_power": INCONCLUSIVE}
