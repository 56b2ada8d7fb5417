"""The routing rule: similarity, threshold choice, the stored form and the hybrid's gate."""

from datetime import UTC, datetime

import pytest

from state.domain import Configuration
from state.errors import InputError
from state.phases import GateStatus, Phase
from state.spec import RagToFineTuning
from tasks.gates import GateInputs, gate_hybrid_gain
from tasks.routing import (
    RoutingRule,
    choose_threshold,
    content_words,
    routing_of,
    rule_of,
)
from tests.tasks.gate_builders import eval_run

REFERENCES = ["What port does the Aurora module open?", "How do I reset my password?"]


def _hybrid_inputs(tuned: list[float], hybrid: list[float]) -> GateInputs:
    return GateInputs(
        use_case="tiny-qa",
        transition="rag_to_fine_tuning",
        thresholds=RagToFineTuning(min_paired=10),
        baseline=eval_run(tuned, run_id=1),
        subject=eval_run(hybrid, run_id=2),
    )


def test_content_words_drop_stopwords_case_and_plural_s() -> None:
    assert content_words("How do the Refunds of THIS class work?") == {"refund", "class", "work"}


def test_similarity_is_the_share_of_input_words_in_the_nearest_reference() -> None:
    rule = RoutingRule(threshold=0.5, reference_inputs=REFERENCES)

    assert rule.similarity("Which port does Aurora use today?") == pytest.approx(2 / 4)
    assert rule.similarity("reset password now") == pytest.approx(2 / 3)


def test_similarity_of_an_input_without_content_words_is_zero() -> None:
    assert RoutingRule(threshold=0.5, reference_inputs=REFERENCES).similarity("is it?") == 0.0


def test_to_tuned_routes_inputs_at_or_above_the_threshold() -> None:
    rule = RoutingRule(threshold=0.5, reference_inputs=REFERENCES)

    assert rule.to_tuned("Which port does Aurora use?")
    assert not rule.to_tuned("Where is the Lisbon office?")


def test_choose_threshold_maximises_the_routed_validation_score() -> None:
    choice = choose_threshold(
        similarities=[0.2, 0.4, 0.8, 0.9],
        tuned=[0.0, 0.0, 1.0, 1.0],
        fallback=[0.5, 0.5, 0.2, 0.2],
    )

    assert choice.threshold == 0.8
    assert choice.routed_mean == pytest.approx(0.75)
    assert (choice.tuned_mean, choice.fallback_mean) == (0.5, pytest.approx(0.35))
    assert choice.tuned_share == 0.5


def test_choose_threshold_breaks_ties_towards_the_tuned_model() -> None:
    choice = choose_threshold([0.3, 0.6, 0.9], tuned=[1.0, 1.0, 1.0], fallback=[1.0, 1.0, 0.0])

    assert (choice.threshold, choice.tuned_share) == (0.3, 1.0)


def test_choose_threshold_keeps_equal_similarities_on_the_same_side() -> None:
    choice = choose_threshold([0.5, 0.5, 0.9], tuned=[1.0, 0.0, 1.0], fallback=[0.0, 1.0, 0.0])

    assert choice.threshold == 0.5
    assert choice.routed_mean == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("similarities", "tuned", "fallback"),
    [([], [], []), ([0.5], [1.0, 0.0], [0.0])],
    ids=["empty", "lengths-differ"],
)
def test_choose_threshold_refuses_mismatched_or_empty_inputs(
    similarities: list[float], tuned: list[float], fallback: list[float]
) -> None:
    with pytest.raises(InputError, match="needs the same non-zero number"):
        choose_threshold(similarities, tuned, fallback)


def test_routing_round_trips_the_rule_and_names_both_routes() -> None:
    fallback = Configuration(
        id=7,
        use_case_id=1,
        phase=Phase.RAG,
        model="sandbox-base",
        prompt_version_id=3,
        retrieval={"top_k": 3},
        content_hash="h" * 64,
        created_at=datetime.now(UTC),
    )
    rule = RoutingRule(threshold=0.8, reference_inputs=REFERENCES)

    routing = routing_of(rule, tuned_configuration_id=9, fallback=fallback)

    assert rule_of(routing) == rule
    assert (routing["tuned_configuration_id"], routing["fallback_configuration_id"]) == (9, 7)
    assert routing["fallback"] == {
        "phase": "rag",
        "model": "sandbox-base",
        "prompt_version_id": 3,
        "retrieval": {"top_k": 3},
    }


def test_gate_hybrid_gain_passes_a_hybrid_that_fixes_items() -> None:
    result = gate_hybrid_gain(_hybrid_inputs([1.0] * 30 + [0.0] * 10, [1.0] * 30 + [0.3] * 10))

    assert (result.check, result.status) == ("hybrid_gain", GateStatus.PASS)


def test_gate_hybrid_gain_fails_a_hybrid_that_changes_nothing() -> None:
    same = [1.0] * 30 + [0.0] * 10

    result = gate_hybrid_gain(_hybrid_inputs(same, same))

    assert (result.status, result.observed) == (GateStatus.FAIL, 0.0)
    assert "gains nothing" in result.detail


def test_gate_hybrid_gain_fails_a_worse_hybrid() -> None:
    result = gate_hybrid_gain(_hybrid_inputs([1.0] * 40, [0.0] * 10 + [1.0] * 30))

    assert result.status == GateStatus.FAIL
