"""Seeded simulation of a live comparison looked at after every batch of interactions.

Each replicate serves `horizon` interactions, each to the canary with probability
`canary_weight`, and draws its rating from that arm's distribution of ratings (a categorical
distribution over the rating scale, so ties and the bounded scale are real). After every
`look_every` interactions the comparison is read; a replicate *promotes* at its first look
that passes and *aborts* at its first look that fails, as a rollout would. Running sums make
all looks of all replicates a few array operations; each look's verdict is `live_status` on
the interval the production code computes (`half_widths`), so the simulation checks the code
that decides. The same looks read with a fixed-sample z interval show what the always-valid
sequence avoids.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from state.phases import GateStatus
from tasks.live_stats import METHOD, ArmInterval, half_widths, live_status

FIXED_Z = 1.959963984540054


@dataclass(frozen=True)
class LookRates:
    """Shares of replicates that promoted or aborted at some look, for one kind of interval."""

    promote: float
    abort: float


@dataclass(frozen=True)
class Simulation:
    """The always-valid sequence's rates and the fixed-sample z interval's on the same data."""

    sequence: LookRates
    fixed: LookRates
    replicates: int
    looks: int


def _ratings(
    rng: np.random.Generator, scale: np.ndarray, probabilities: Sequence[float], size: tuple
) -> np.ndarray:
    """Ratings drawn from a categorical distribution over `scale`."""
    return rng.choice(scale, size=size, p=np.asarray(probabilities, dtype=float))


def _running(values: np.ndarray, mask: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, ...]:
    """Count, mean and sample variance of the masked values at each look, per replicate."""
    picked = np.where(mask, values, 0.0)
    n = np.cumsum(mask, axis=1)[:, at]
    total = np.cumsum(picked, axis=1)[:, at]
    squares = np.cumsum(picked * picked, axis=1)[:, at]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        variance = np.maximum(squares - n * mean * mean, 0.0) / (n - 1)
    return n, mean, variance


def _first_verdicts(
    low: np.ndarray,
    high: np.ndarray,
    estimate: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    *,
    margin: float,
    min_per_arm: int,
) -> LookRates:
    """Share of replicates whose first decisive look passed, and whose first one failed."""
    promoted = aborted = 0
    for row in range(low.shape[0]):
        for look in range(low.shape[1]):
            interval = ArmInterval(
                float(low[row, look]),
                float(high[row, look]),
                float(estimate[row, look]),
                int(n0[row, look]),
                int(n1[row, look]),
                METHOD,
            )
            status = live_status(
                interval, margin=margin, min_per_arm=min_per_arm, higher_is_better=True
            )
            if status is GateStatus.PASS:
                promoted += 1
                break
            if status is GateStatus.FAIL:
                aborted += 1
                break
    replicates = low.shape[0]
    return LookRates(promote=promoted / replicates, abort=aborted / replicates)


def simulate_looks(
    *,
    control: Sequence[float],
    canary: Sequence[float],
    scale: Sequence[float] = (1, 2, 3, 4, 5),
    canary_weight: float = 0.5,
    replicates: int = 500,
    horizon: int = 5000,
    look_every: int = 50,
    margin: float = 0.0,
    min_per_arm: int = 30,
    alpha: float = 0.05,
    seed: int = 0,
) -> Simulation:
    """Promote and abort rates over repeated looks, always-valid sequence against fixed z."""
    rng = np.random.default_rng(seed)
    values = np.asarray(scale, dtype=float)
    in_canary = rng.random((replicates, horizon)) < canary_weight
    ratings = np.where(
        in_canary,
        _ratings(rng, values, canary, (replicates, horizon)),
        _ratings(rng, values, control, (replicates, horizon)),
    )
    at = np.arange(look_every, horizon + 1, look_every) - 1
    n0, mean0, var0 = _running(ratings, ~in_canary, at)
    n1, mean1, var1 = _running(ratings, in_canary, at)
    # A look with fewer than 2 in an arm has no interval: its width is computed on 2 (any
    # finite number would do) and live_status calls it inconclusive on the true counts.
    safe0, safe1 = np.maximum(n0, 2), np.maximum(n1, 2)
    estimate = np.nan_to_num(mean1 - mean0)
    var0, var1 = np.nan_to_num(var0), np.nan_to_num(var1)
    rates = []
    for half in (
        half_widths(safe0, var0, safe1, var1, alpha=alpha),
        FIXED_Z * np.sqrt(var0 / safe0 + var1 / safe1),
    ):
        rates.append(
            _first_verdicts(
                estimate - half,
                estimate + half,
                estimate,
                n0,
                n1,
                margin=margin,
                min_per_arm=min_per_arm,
            )
        )
    return Simulation(sequence=rates[0], fixed=rates[1], replicates=replicates, looks=at.size)
