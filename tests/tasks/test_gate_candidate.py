"""Checks of the candidate alone: its quality floor (latency: test_gate_latency.py)."""

from typing import Any

import pytest

from state.phases import GateStatus
from state.spec import PromptingToRag
from tasks.gates import gate_quality_floor
from tests.tasks.gate_builders import FAIL, INCONCLUSIVE, PASS, eval_run, gate_inputs


@pytest.mark.parametrize(("mean", "status"), [(0.59, FAIL), (0.6, PASS), (0.61, PASS)])
def test_quality_floor_needs_the_candidate_at_or_above_the_floor(
    mean: float, status: GateStatus
) -> None:
    gate = PromptingToRag(floor=0.6)
    result = gate_quality_floor(
        gate_inputs(thresholds=gate, subject=eval_run([0.5] * 40, mean=mean))
    )
    assert (result.status, result.observed, result.threshold) == (status, mean, 0.6)


@pytest.mark.parametrize("check", [gate_quality_floor])
def test_candidate_checks_are_inconclusive_without_a_scored_candidate(check: Any) -> None:
    assert check(gate_inputs(subject=None)).status == INCONCLUSIVE
    assert check(gate_inputs(subject=eval_run([]))).status == INCONCLUSIVE
