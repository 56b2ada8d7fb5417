"""Latency percentiles with bootstrap intervals over the items, alone and paired.

A bootstrap resample of n latencies is n uniform picks among the sorted values, and its
q-quantile (interpolated between the order statistics at positions k and k + 1) depends only
on two order statistics of the picks. The picks are `floor(n · U)` for uniform U, so the k-th
smallest pick is `floor(n · U_(k))` with `U_(k) ~ Beta(k, n + 1 - k)`, and the next one is
`U_(k) + (1 - U_(k)) · Beta(1, n - k)`: each resample costs two beta draws, whatever n is.

A paired comparison (the same items measured for two configurations) resamples items
together: its statistics need the whole resample, so it draws the picks one by one.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from tasks.stats import bootstrap_interval, mean, quantile


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap percentile interval."""

    value: float
    low: float
    high: float


def _order_pick(rng: random.Random, n: int, k: int) -> tuple[int, int]:
    """Indices of the k-th and (k + 1)-th smallest of n uniform picks in range(n), k ≥ 1."""
    u = rng.betavariate(k, n + 1 - k)
    v = u + (1.0 - u) * rng.betavariate(1, n - k) if k < n else u
    return min(math.floor(n * u), n - 1), min(math.floor(n * v), n - 1)


def quantile_interval(
    values: Sequence[float],
    q: float,
    *,
    samples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """The q-quantile of values with the percentile interval of its bootstrap over the items."""
    if not values:
        raise ValueError("quantile_interval: no values to resample")
    ordered = sorted(values)
    n = len(ordered)
    position = q * (n - 1)
    below = math.floor(position)
    fraction = position - below
    rng = random.Random(seed)
    draws = []
    for _ in range(samples):
        first, second = _order_pick(rng, n, below + 1)
        low, high = ordered[first], ordered[second]
        draws.append(low + (high - low) * fraction)
    draws.sort()
    tail = (1.0 - confidence) / 2.0
    return Estimate(quantile(ordered, q), quantile(draws, tail), quantile(draws, 1.0 - tail))


def paired_ratio_interval(
    baseline: Sequence[float],
    subject: Sequence[float],
    q: float,
    *,
    samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """The ratio subject/baseline of their q-quantiles, items resampled in pairs."""
    if not baseline or len(baseline) != len(subject):
        raise ValueError("paired_ratio_interval: needs two equally long, non-empty samples")
    n = len(baseline)
    rng = random.Random(seed)
    indices = range(n)
    ratios = []
    for _ in range(samples):
        picks = rng.choices(indices, k=n)
        base = quantile(sorted(baseline[i] for i in picks), q)
        ratios.append(quantile(sorted(subject[i] for i in picks), q) / base if base else math.inf)
    ratios.sort()
    tail = (1.0 - confidence) / 2.0
    base = quantile(sorted(baseline), q)
    value = quantile(sorted(subject), q) / base if base else math.inf
    return Estimate(value, quantile(ratios, tail), quantile(ratios, 1.0 - tail))


def paired_difference(
    baseline: Sequence[float], subject: Sequence[float], *, samples: int = 2000, seed: int = 0
) -> Estimate:
    """Mean of the per-item differences subject − baseline, with its bootstrap interval."""
    if not baseline or len(baseline) != len(subject):
        raise ValueError("paired_difference: needs two equally long, non-empty samples")
    differences = [s - b for b, s in zip(baseline, subject, strict=True)]
    low, high = bootstrap_interval(differences, samples=samples, seed=seed)
    return Estimate(mean(differences), low, high)
