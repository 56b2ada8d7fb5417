"""The check registry per transition and stage, and the inputs the checks accept."""

from typing import Any

import pytest
from pydantic import ValidationError

from state.spec import PromptingToRag, RagToFineTuning
from tasks.gate_checks import GateInputs, Transition, gate_data_documents, gate_data_examples
from tasks.gates import CHECKS, gate_canary, run_checks, verdict
from tests.tasks.gate_builders import DOLLAR, INCONCLUSIVE, eval_run, fine_tuning, gate_inputs


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
