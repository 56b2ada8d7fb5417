"""Paired scores and a seeded bootstrap of their mean, exact and fast in pure Python.

A bootstrap resample of n values is a multinomial draw of how often each value is picked.
Picking one value at a time costs ~100 ns in Python, so 2,000 resamples of 2,000 values would
take ~0.4 s. Instead the values are precomputed into blocks and a resample is drawn in two
exact steps: how many picks land in each block (conditional binomials, one per block), then
which values they pick inside a block:

- a value shared by at least `HEAVY` items is a block of its own, whose picks all add that
  value (0/1 metrics collapse to at most three such blocks: no per-pick work at all);
- the other values are cut into chunks of up to 256, where one random byte picks one value
  (bytes outside a whole multiple of the chunk size are rejected, so every value stays
  equally likely) and `itemgetter` gathers the picks in C.
"""

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import itemgetter

# One binomial draw (~2 µs) beats gathering this many single picks one byte at a time.
HEAVY = 64
CHUNK = 256


@dataclass(frozen=True)
class _Block:
    """Values drawn together; `share` is P(a pick lands here | it missed earlier blocks)."""

    size: int
    share: float
    value: float = 0.0
    items: tuple[float, ...] = ()
    table: bytes = b""
    reject: bytes = b""


def paired_scores(
    active: Mapping[str, float], candidate: Mapping[str, float]
) -> list[tuple[str, float, float]]:
    """Pair (item id, active score, candidate score) for ids scored by both, sorted by id."""
    return [(item, active[item], candidate[item]) for item in sorted(active.keys() & candidate)]


def mean(values: Sequence[float]) -> float:
    """Average values with exact float summation; 0.0 for no values."""
    return math.fsum(values) / len(values) if values else 0.0


def binomial(rng: random.Random, trials: int, p: float) -> int:
    """Draw a Binomial(trials, p) count: CPython 3.12's `binomialvariate`, ported to 3.11."""
    if p <= 0.0 or trials == 0:
        return 0
    if p >= 1.0:
        return trials
    if p > 0.5:
        return trials - binomial(rng, trials, 1.0 - p)
    if trials * p < 10.0:
        # Devroye's geometric method, O(trials · p).
        successes = position = 0
        step = math.log2(1.0 - p)
        if not step:
            return 0
        while True:
            position += math.floor(math.log2(rng.random()) / step) + 1
            if position > trials:
                return successes
            successes += 1
    # Hörmann's BTRS: transformed rejection with squeeze.
    spq = math.sqrt(trials * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = trials * p + 0.5
    vr = 0.92 - 4.2 / b
    mode = math.floor((trials + 1) * p)
    # The log-likelihood terms are only needed when the squeeze fails (~1 draw in 10).
    alpha = lpq = h = 0.0
    while True:
        u = rng.random() - 0.5
        us = 0.5 - math.fabs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > trials:
            continue
        v = rng.random()
        if us >= 0.07 and v <= vr:
            return k
        if not alpha:
            alpha = (2.83 + 5.1 / b) * spq
            lpq = math.log(p / (1.0 - p))
            h = math.lgamma(mode + 1) + math.lgamma(trials - mode + 1)
        v *= alpha / (a / (us * us) + b)
        if math.log(v) <= h - math.lgamma(k + 1) - math.lgamma(trials - k + 1) + (k - mode) * lpq:
            return k


def _chunk(items: tuple[float, ...], rest: int) -> _Block:
    """Build a chunk of up to 256 values with the byte table that picks one uniformly."""
    size = len(items)
    return _Block(
        size=size,
        share=size / rest,
        items=items,
        table=bytes(byte % size for byte in range(CHUNK)),
        reject=bytes(range(CHUNK - CHUNK % size, CHUNK)),
    )


def _blocks(values: Sequence[float]) -> list[_Block]:
    """Cut values into heavy single-value blocks, then chunks of the rest, in a fixed order."""
    counts = Counter(values)
    heavy = sorted(value for value, count in counts.items() if count >= HEAVY)
    light = [value for value in values if counts[value] < HEAVY]
    chunks = [tuple(light[start : start + CHUNK]) for start in range(0, len(light), CHUNK)]
    sizes = [counts[value] for value in heavy] + [len(chunk) for chunk in chunks]
    # Picks not yet placed when a block's turn comes spread over it and all later blocks.
    rests = list(accumulate(reversed(sizes)))[::-1]
    heavy_rests, chunk_rests = rests[: len(heavy)], rests[len(heavy) :]
    blocks = [
        _Block(counts[value], counts[value] / rest, value=value)
        for value, rest in zip(heavy, heavy_rests, strict=True)
    ]
    return blocks + [_chunk(chunk, rest) for chunk, rest in zip(chunks, chunk_rests, strict=True)]


def _picks(rng: random.Random, block: _Block, count: int) -> bytes:
    """Draw `count` uniform item indices of a chunk, one byte each."""
    picks = b""
    while len(picks) < count:
        picks += rng.randbytes(count - len(picks)).translate(block.table, block.reject)
    return picks


def _resample_sum(rng: random.Random, blocks: list[_Block], n: int) -> float:
    """Sum one bootstrap resample of n picks: counts per block, then picks inside chunks."""
    total, left = 0.0, n
    for block in blocks:
        count = binomial(rng, left, block.share)
        left -= count
        if count == 0:
            continue
        if not block.items:
            total += count * block.value
        elif count == 1:
            total += block.items[_picks(rng, block, 1)[0]]
        else:
            total += sum(itemgetter(*_picks(rng, block, count))(block.items))
    return total


def quantile(ordered: Sequence[float], q: float) -> float:
    """Interpolate the q-quantile of sorted values linearly between neighbours."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def bootstrap_interval(
    values: Sequence[float], *, samples: int, seed: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Bootstrap the percentile interval of the mean of `values` over seeded resamples."""
    if not values:
        raise ValueError("bootstrap_interval: no values to resample")
    rng = random.Random(seed)
    blocks = _blocks(values)
    n = len(values)
    means = sorted(_resample_sum(rng, blocks, n) / n for _ in range(samples))
    tail = (1.0 - confidence) / 2.0
    return quantile(means, tail), quantile(means, 1.0 - tail)
