"""Entry checks: the need for the next phase, enough data, and privacy."""

import pytest

from state.domain import EvalRun
from state.phases import GateStatus
from state.spec import Constraints, PromptingToRag
from tasks.gates import (
    gate_data_documents,
    gate_data_examples,
    gate_need,
    gate_need_quality,
    gate_privacy,
)
from tests.tasks.gate_builders import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    eval_run,
    fine_tuning,
    gate_inputs,
)


@pytest.mark.parametrize(
    ("mean", "status"),
    [(0.79, PASS), (0.8, FAIL), (0.81, FAIL)],
    ids=["just-below", "at", "just-above"],
)
def test_need_quality_passes_only_below_the_target(mean: float, status: GateStatus) -> None:
    result = gate_need_quality(gate_inputs(baseline=eval_run([0.5] * 40, mean=mean)))
    assert (result.status, result.observed, result.threshold) == (status, mean, 0.8)


@pytest.mark.parametrize("active", [None, eval_run([])], ids=["no-run", "empty-run"])
def test_need_quality_is_inconclusive_without_a_scored_active_run(active: EvalRun | None) -> None:
    assert gate_need_quality(gate_inputs(baseline=active)).status == INCONCLUSIVE


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
    assert gate_need(fine_tuning(baseline=active, volume_30d=volume)).status == status


def test_need_shows_both_needs_in_its_evidence() -> None:
    result = gate_need(fine_tuning(baseline=eval_run([0.5] * 40, mean=0.9), volume_30d=6000))
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
