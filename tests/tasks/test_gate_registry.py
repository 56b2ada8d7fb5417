"""The check registry per transition and stage, and the inputs the checks accept."""

from typing import Any

import pytest
from pydantic import ValidationError

from state.phases import Phase
from state.spec import PromptingToRag, RagToFineTuning
from tasks.gates import (
    CHECKS,
    MONITOR_CHECKS,
    RESTORED,
    THRESHOLDS,
    TRANSITIONS,
    GateInputs,
    Transition,
    Verdict,
    apply_checks,
    gate_canary,
    gate_data_documents,
    gate_data_examples,
    gate_eval_power,
    gate_guardrails,
    run_checks,
    transition_into,
    verdict,
)
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
    # Checks that need data these inputs lack (a canary set, guardrails, a required gain)
    # answer nothing; every other registered check answered once.
    optional = {gate_canary, gate_guardrails, gate_eval_power}
    assert len([c for c in CHECKS[transition][stage] if c not in optional]) == len(names)


def test_run_checks_with_no_evidence_never_passes_a_promotion() -> None:
    results = run_checks(fine_tuning(), "promotion")
    assert {r.status for r in results} == {INCONCLUSIVE}
    assert verdict(results) == "ask"


def test_gate_inputs_refuse_thresholds_of_another_transition() -> None:
    with pytest.raises(ValidationError, match="rag_to_fine_tuning needs RagToFineTuning"):
        gate_inputs("rag_to_fine_tuning", thresholds=PromptingToRag())


def test_gate_inputs_survive_a_json_round_trip() -> None:
    inputs = fine_tuning(baseline=eval_run([0.5] * 3), prices_active=DOLLAR, training_tokens=7)
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


def test_transitions_come_from_the_phase_order() -> None:
    assert list(TRANSITIONS) == ["prompting_to_rag", "rag_to_fine_tuning"]
    assert set(CHECKS) == set(THRESHOLDS) == set(TRANSITIONS)
    assert THRESHOLDS == {"prompting_to_rag": PromptingToRag, "rag_to_fine_tuning": RagToFineTuning}


@pytest.mark.parametrize(
    ("phase", "transition"),
    [
        (Phase.PROMPTING, "prompting_to_rag"),
        (Phase.RAG, "prompting_to_rag"),
        (Phase.FINE_TUNING, "rag_to_fine_tuning"),
    ],
)
def test_transition_into_names_the_gate_that_led_into_a_phase(
    phase: Phase, transition: str
) -> None:
    assert transition_into(phase) == transition


def test_gate_inputs_refuse_an_unknown_transition() -> None:
    with pytest.raises(ValidationError, match="transition: 'rag_to_rag' is not one of"):
        GateInputs(use_case="x", transition="rag_to_rag", thresholds=PromptingToRag())


def test_roles_name_the_evidence_and_prefix_the_checks() -> None:
    inputs = gate_inputs(
        roles=RESTORED, baseline=eval_run([0.5] * 40), subject=eval_run([0.5] * 40, run_id=2)
    )
    results = apply_checks(MONITOR_CHECKS, inputs)
    assert [r.check for r in results] == ["restored_regression", "restored_floor"]
    assert results[0].evidence["restored_eval_run_id"] == 2
    assert results[1].detail.startswith("restored quality 0.500 reaches the floor")


def test_verdict_is_a_string_enum() -> None:
    assert verdict([]) == Verdict.ASK == "ask"
