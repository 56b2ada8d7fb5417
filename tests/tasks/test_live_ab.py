"""The analysis of an online A/B: each variant against the control at α split, SRM over all arms.

Arms are drawn seeded from their own rating rates (0/1 ratings); an A/A of three arms looked
at many times is the seeded validity check of the decision (not only of one interval).
"""

import random

import pytest

from state.spec_rollout import LiveMetrics, RolloutStep
from tasks.ab_moves import decide_ab
from tasks.gates import ArmSample
from tasks.gates.live_ab import (
    AB_ARMS,
    ab_summary,
    alpha_each,
    comparisons,
    run_ab_checks,
    verdicts,
)
from tasks.rollout_moves import Action

METRICS = LiveMetrics(min_per_arm=30)
STEP = RolloutStep(weight=200 / 3, min_interactions=100, max_duration=3600)
THIRDS = [100 / 3] * 3


def _arm(name: str, n: int, rate: float, draw: random.Random, error: float = 0.0) -> ArmSample:
    ratings = [float(draw.random() < rate) for _ in range(n)]
    errors = [float(draw.random() < error) for _ in range(n)]
    return ArmSample(
        name=name,
        configuration_id=hash(name) % 1000,
        interactions=n,
        ratings=ratings,
        errors=errors,
    )


def _arms(rates: dict[str, float], n: int, seed: int, errors: dict | None = None):
    draw = random.Random(seed)
    return [_arm(k, n, r, draw, (errors or {}).get(k, 0.0)) for k, r in rates.items()]


def _decide(arms: list[ArmSample], weights=THIRDS, elapsed_s: float = 0.0, variants: int = 2):
    results = run_ab_checks(arms, weights, METRICS, variants)
    answers = verdicts(results, arms, METRICS)
    move = decide_ab(
        results,
        answers,
        arms,
        metrics=METRICS,
        variants=variants,
        step=STEP,
        elapsed_s=elapsed_s,
    )
    return results, answers, move


def test_alpha_is_split_over_every_comparison_the_ab_may_need() -> None:
    assert [comparisons(v) for v in (1, 2, 3)] == [1, 3, 6]
    assert alpha_each(METRICS, 2) == pytest.approx(0.05 / 3)


def test_each_variant_is_checked_against_the_control_at_the_split_alpha() -> None:
    arms = _arms({"control": 0.5, "b": 0.5, "c": 0.9}, 400, seed=1)
    results, _, _ = _decide(arms)
    assert results[0].check == "live_sample_ratio"
    assert results[0].evidence["counts"] == [400, 400, 400]
    per_arm = [(r.check, r.evidence["arm"]) for r in results[1:]]
    assert per_arm == [
        ("live_rating", "b"),
        ("live_error_rate", "b"),
        ("live_rating", "c"),
        ("live_error_rate", "c"),
    ]
    assert [r.evidence["alpha"] for r in results[1:]] == pytest.approx([0.05 / 3] * 4)


def test_one_clearly_better_variant_wins_once_the_others_are_decided() -> None:
    arms = _arms({"control": 0.5, "b": 0.2, "c": 0.9}, 400, seed=2)
    _, answers, move = _decide(arms)
    assert [a.verdict for a in answers] == ["control", "worse", "better"]
    assert (move.action, move.arms) == (Action.DROP, ("b",))
    # The next step serves the control and c only: c wins.
    draw = random.Random(3)
    arms = [_arm("control", 800, 0.5, draw), _arm("c", 400, 0.9, draw)]
    _, _, move = _decide(arms, weights=[200 / 3, 100 / 3])
    assert (move.action, move.arms) == (Action.PROMOTE, ("c",))


def test_a_variant_that_errors_more_is_dropped_though_rated_the_same() -> None:
    arms = _arms({"control": 0.6, "b": 0.6, "c": 0.6}, 400, seed=4, errors={"c": 0.3})
    _, _, move = _decide(arms)
    assert (move.action, move.arms) == (Action.DROP, ("c",))
    assert "c: errors" in move.reason


def test_two_better_variants_not_told_apart_wait_then_ask_a_person() -> None:
    arms = _arms({"control": 0.3, "b": 0.8, "c": 0.8}, 300, seed=5)
    _, answers, move = _decide(arms)
    assert [a.verdict for a in answers[1:]] == ["better", "better"]
    assert move.action == Action.WAIT
    assert "not yet each other" in move.reason
    _, _, asked = _decide(arms, elapsed_s=3600)
    assert asked.action == Action.ASK
    assert "max_duration" in asked.reason


def test_the_better_of_two_better_variants_wins_when_separated() -> None:
    arms = _arms({"control": 0.2, "b": 0.55, "c": 0.95}, 500, seed=6)
    _, _, move = _decide(arms)
    assert (move.action, move.arms) == (Action.PROMOTE, ("c",))


def test_control_wins_when_every_variant_is_no_different() -> None:
    metrics = METRICS.model_copy(update={"min_effect": 0.2})
    arms = _arms({"control": 0.5, "b": 0.5, "c": 0.5}, 2000, seed=7)
    results = run_ab_checks(arms, THIRDS, metrics, 2)
    answers = verdicts(results, arms, metrics)
    assert [a.verdict for a in answers[1:]] == ["same", "same"]
    move = decide_ab(results, answers, arms, metrics=metrics, variants=2, step=STEP, elapsed_s=0)
    assert (move.action, move.arms) == (Action.PROMOTE, ("control",))


def test_sample_ratio_over_three_arms_fires_when_one_arms_reports_are_lost() -> None:
    arms = _arms({"control": 0.5, "b": 0.5, "c": 0.5}, 400, seed=8)
    arms[2] = arms[2].model_copy(update={"interactions": 150})
    results, _, move = _decide(arms)
    assert results[0].status == "fail"
    assert results[0].evidence["counts"] == [400, 400, 150]
    assert (move.action, move.reason.startswith("sample-ratio mismatch")) == (Action.ASK, True)


def test_ab_summary_holds_every_arm_with_the_alpha_used() -> None:
    arms = _arms({"control": 0.5, "b": 0.5, "c": 0.9}, 200, seed=9)
    results = run_ab_checks(arms, THIRDS, METRICS, 2)
    summary = ab_summary(verdicts(results, arms, METRICS), METRICS, 2)
    assert summary.check == AB_ARMS.name
    assert [a["name"] for a in summary.evidence["arms"]] == ["control", "b", "c"]
    assert summary.evidence["arms"][0]["n"] == 200
    assert summary.evidence["alpha_each"] == pytest.approx(0.05 / 3)


def test_ab_of_identical_arms_rarely_names_a_winner_or_drops_an_arm() -> None:
    """A/A of three arms, looked at after every 60 interactions up to 1,800, 150 replicates."""
    stopped = 0
    for replicate in range(150):
        draw = random.Random(1000 + replicate)
        seen: dict[str, list[float]] = {"control": [], "b": [], "c": []}
        for _ in range(30):
            for _ in range(60):
                seen[draw.choice(list(seen))].append(float(draw.random() < 0.6))
            arms = [
                ArmSample(name=k, configuration_id=i, interactions=len(v), ratings=v)
                for i, (k, v) in enumerate(seen.items())
            ]
            _, _, move = _decide(arms)
            if move.action in (Action.DROP, Action.PROMOTE):
                stopped += 1
                break
    print(f"\nA/A of 3 arms: {stopped / 150:.1%} of 150 replicates dropped or promoted")  # noqa: T201
    assert stopped / 150 < 0.05


def test_with_every_variant_dropped_the_control_wins() -> None:
    arms = _arms({"control": 0.5}, 50, seed=10)
    _, _, move = _decide(arms, weights=[100.0])
    assert (move.action, move.arms) == (Action.PROMOTE, ("control",))
