"""Paired scores, the binomial sampler and the seeded bootstrap interval of a mean."""

import math
import random
import statistics
from collections import Counter

import pytest

from tasks.stats import _blocks, _picks, binomial, bootstrap_interval, paired_scores, quantile


def test_paired_scores_keeps_only_ids_scored_by_both_sorted() -> None:
    active = {"b": 0.5, "a": 0.0, "only-active": 1.0}
    candidate = {"a": 1.0, "b": 0.25, "only-candidate": 0.0}
    assert paired_scores(active, candidate) == [("a", 0.0, 1.0), ("b", 0.5, 0.25)]


@pytest.mark.parametrize(("q", "expected"), [(0.0, 0.0), (0.5, 5.0), (0.95, 9.5), (1.0, 10.0)])
def test_quantile_interpolates_between_neighbours(q: float, expected: float) -> None:
    assert quantile([0.0, 10.0], q) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("trials", "p"),
    [(20, 0.2), (2000, 0.3), (2000, 0.8)],
    ids=["geometric", "btrs", "symmetric"],
)
def test_binomial_has_the_binomial_mean_and_variance(trials: int, p: float) -> None:
    rng = random.Random(7)
    draws = [binomial(rng, trials, p) for _ in range(20000)]
    variance = trials * p * (1 - p)
    assert all(0 <= d <= trials for d in draws)
    assert statistics.fmean(draws) == pytest.approx(trials * p, abs=4 * math.sqrt(variance / 20000))
    assert statistics.pvariance(draws) == pytest.approx(variance, rel=0.05)


@pytest.mark.parametrize(("trials", "p", "expected"), [(50, 0.0, 0), (50, 1.0, 50), (0, 0.5, 0)])
def test_binomial_edges_are_certain(trials: int, p: float, expected: int) -> None:
    assert binomial(random.Random(0), trials, p) == expected


def test_picks_choose_every_item_of_a_partial_chunk_equally_often() -> None:
    # 44 items: 256 % 44 = 36 bytes must be rejected or items 0-35 would be 20 % likelier.
    (chunk,) = _blocks([i / 1000 for i in range(44)])
    counts = Counter(_picks(random.Random(3), chunk, 44 * 5000))
    assert sorted(counts) == list(range(44))
    assert max(counts.values()) / min(counts.values()) < 1.1


def test_bootstrap_interval_is_reproducible_with_its_seed() -> None:
    values = [random.Random(1).random() for _ in range(100)]
    first = bootstrap_interval(values, samples=500, seed=11)
    assert bootstrap_interval(values, samples=500, seed=11) == first


def test_bootstrap_interval_changes_with_the_seed() -> None:
    rng = random.Random(1)
    values = [rng.random() for _ in range(100)]
    first = bootstrap_interval(values, samples=500, seed=11)
    assert bootstrap_interval(values, samples=500, seed=12) != first


def test_bootstrap_interval_of_equal_values_is_that_value() -> None:
    assert bootstrap_interval([0.25] * 200, samples=200, seed=0) == (0.25, 0.25)


@pytest.mark.parametrize("kind", ["continuous", "binary", "mixed"])
def test_bootstrap_interval_matches_normal_theory(kind: str) -> None:
    rng = random.Random(5)
    make = {
        "continuous": lambda: rng.random() - 0.4,
        "binary": lambda: float(rng.random() < 0.3),
        "mixed": lambda: 0.0 if rng.random() < 0.5 else rng.random(),
    }[kind]
    values = [make() for _ in range(600)]
    half = 1.96 * statistics.pstdev(values) / math.sqrt(len(values))
    center = statistics.fmean(values)
    low, high = bootstrap_interval(values, samples=4000, seed=0)
    assert low == pytest.approx(center - half, abs=0.15 * half)
    assert high == pytest.approx(center + half, abs=0.15 * half)


def test_bootstrap_interval_refuses_no_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        bootstrap_interval([], samples=100, seed=0)
