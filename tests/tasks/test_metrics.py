"""Metrics: the registry, each local metric, and strict parsing of judge verdicts."""

import asyncio
import typing

import pytest
from pydantic import SecretStr

from state.domain import EvalItem
from state.settings import ProviderOptions
from state.spec import Metric
from tasks.llm import build_client
from tasks.metrics import (
    METRICS,
    VerdictError,
    accuracy,
    contains,
    exact_match,
    judge_scores,
    parse_verdict,
    token_f1,
)

ITEM = EvalItem(id="q1", input="How long do refunds take?", expected="five business days")


def test_metrics_registry_matches_the_spec_metric_names() -> None:
    assert set(METRICS) == set(typing.get_args(Metric))


def test_metrics_registry_local_metrics_score_and_the_judge_has_a_rubric() -> None:
    assert {name for name, m in METRICS.items() if m.score} == set(METRICS) - {"llm_judge"}
    assert METRICS["llm_judge"].rubric is not None


def test_exact_match_ignores_only_surrounding_whitespace() -> None:
    assert exact_match(" Paris\n", "Paris") == 1.0
    assert exact_match("paris", "Paris") == 0.0


def test_accuracy_normalises_case_spaces_and_separators() -> None:
    assert accuracy("  Negative / Billing /  HIGH ", "negative/billing/high") == 1.0
    assert accuracy("negative/billing/low", "negative/billing/high") == 0.0


def test_token_f1_uses_squad_normalisation() -> None:
    assert token_f1("The five business days!", "five business days") == 1.0
    assert token_f1("five days", "five business days") == pytest.approx(0.8)
    assert token_f1("nothing alike", "five business days") == 0.0


def test_token_f1_of_empty_texts_is_one_only_when_both_are_empty() -> None:
    assert token_f1("the", "a") == 1.0
    assert token_f1("", "five") == 0.0


def test_contains_needs_whole_words() -> None:
    assert contains("It takes five business days, usually.", "Five business days") == 1.0
    assert contains("fivefold business days", "five business days") == 0.0


@pytest.mark.parametrize(
    ("verdict", "score"),
    [("7", 0.7), (" 10 \n", 1.0), ("0", 0.0), ("SCORE: 8", 0.8), ("SCORE:4.5", 0.45)],
)
def test_parse_verdict_accepts_a_number_or_score_line(verdict: str, score: float) -> None:
    assert parse_verdict(verdict) == pytest.approx(score)


@pytest.mark.parametrize(
    "verdict", ["7/10", "The score is 7", "SCORE: 7 because", "", "-1", "eight"]
)
def test_parse_verdict_rejects_anything_else(verdict: str) -> None:
    with pytest.raises(VerdictError, match="not a number 0-10"):
        parse_verdict(verdict)


def test_parse_verdict_rejects_a_number_above_ten() -> None:
    with pytest.raises(VerdictError, match="above 10"):
        parse_verdict("11")


def test_llm_judge_rubric_carries_question_reference_and_candidate() -> None:
    rubric = METRICS["llm_judge"].rubric
    assert rubric is not None
    user = rubric(ITEM, "about five days\n\nor so")[-1]["content"]
    assert user == (
        "Question: How long do refunds take?\nReference: five business days\n"
        "Candidate: about five days\nor so"
    )


def _judge(url: str, model: str, answers: list[tuple[str | None, str | None]]) -> list:
    options = ProviderOptions(base_url=url, api_key=SecretStr("sk-test"))

    async def main() -> list:
        async with build_client(options) as client:
            scores, _ = await judge_scores(client, model, [ITEM] * len(answers), answers, {})
            return scores

    return asyncio.run(main())


def test_judge_scores_rate_a_right_answer_above_a_wrong_one(sandbox_url: str) -> None:
    answers = [("five business days", None), ("the sky is blue", None), (None, "timeout")]
    (right, none), (wrong, _), failed = _judge(sandbox_url, "sandbox-judge", answers)
    assert none is None and right > wrong >= 0.0
    assert failed == (None, "timeout")


def test_judge_scores_turn_an_unparseable_verdict_into_an_item_error(sandbox_url: str) -> None:
    # The base model answers in prose, not with a grade.
    [(score, error)] = _judge(sandbox_url, "sandbox-base", [("five business days", None)])
    assert score is None
    assert error is not None and error.startswith("judge: judge verdict is not a number")
