"""Live comparison of two arms that stays valid however often it is looked at.

`difference_sequence` is an always-valid (time-uniform) confidence sequence for
mean(canary) − mean(control) from two independent samples: the normal-mixture boundary of the
mixture sequential probability ratio test for two-sample A/B tests (Johari, Koomen, Pekelis &
Walsh 2022, "Always valid inference: continuous monitoring of A/B tests", Operations Research
70(3)), with the arms' variances estimated from the data, which is the asymptotic confidence
sequence of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas (2023, "Time-uniform central limit
theory and asymptotic confidence sequences", Theorem 2.2) applied in information time: with
V = s0²/n0 + s1²/n1 the variance of the difference of means and t = (s0² + s1²)/V its
effective number of pairs (n when both arms hold n), the half-width is

    sqrt( V · 2(tρ² + 1)/(tρ²) · log( sqrt(tρ² + 1) / α ) ).

ρ sets where the sequence is tightest; it is chosen for `TIGHTEST_AT` effective pairs
(Waudby-Smith et al., eq. 14). Every look at the sequence, at any sample sizes, keeps the
chance that it ever excludes the true difference at about α; a fixed-sample 95 % interval
looked at after every batch does not (docs/live-statistics.md).

`sample_ratio_p_value` is Pearson's chi-square goodness of fit of the arms' counts to their
weights, with the chi-square survival function computed here (no scipy).
`live_status` turns an interval into a three-valued gate answer.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from state.errors import InputError
from state.phases import GateStatus

METHOD = "asymptotic-confidence-sequence"
# The sequence is tightest around this many effective pairs: a rollout step of a few hundred
# interactions per arm, where most decisions are taken.
TIGHTEST_AT = 500


@dataclass(frozen=True)
class ArmInterval:
    """The estimated difference canary − control, its always-valid bounds and the arm sizes."""

    low: float
    high: float
    estimate: float
    n_control: int
    n_canary: int
    method: str


def mixture_rho2(alpha: float, tightest_at: float = TIGHTEST_AT) -> float:
    """ρ² that makes the boundary tightest at `tightest_at` effective pairs (WS et al. eq. 14)."""
    log_term = -2.0 * math.log(alpha)
    return (log_term + math.log(log_term + 1.0)) / tightest_at


def half_widths(
    n_control: np.ndarray,
    var_control: np.ndarray,
    n_canary: np.ndarray,
    var_canary: np.ndarray,
    *,
    alpha: float = 0.05,
) -> np.ndarray:
    """Half-widths of the sequence for arrays of arm sizes and sample variances (n ≥ 2 each)."""
    variance = var_control / n_control + var_canary / n_canary
    pair_variance = var_control + var_canary
    rho2 = mixture_rho2(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_rho2 = np.where(variance > 0, pair_variance / variance, 0.0) * rho2
        factor = 2.0 * (t_rho2 + 1.0) / t_rho2 * np.log(np.sqrt(t_rho2 + 1.0) / alpha)
        # Both arms constant: nothing varies, the estimate is the difference itself.
        return np.where(variance > 0, np.sqrt(variance * factor), 0.0)


def _moments(values: Sequence[float], name: str) -> tuple[int, float, float]:
    """Size, mean and sample variance of one arm; refuses values that are not finite."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise InputError(f"{name}: expected a flat sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name}: every value must be a finite number")
    n = int(array.size)
    mean = float(array.mean()) if n else 0.0
    variance = float(array.var(ddof=1)) if n > 1 else 0.0
    return n, mean, variance


def difference_sequence(
    control: Sequence[float], canary: Sequence[float], *, alpha: float = 0.05
) -> ArmInterval:
    """Always-valid (1 − α) bounds on mean(canary) − mean(control); unbounded below 2 per arm."""
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha: {alpha} is not between 0 and 1")
    n0, mean0, var0 = _moments(control, "control")
    n1, mean1, var1 = _moments(canary, "canary")
    estimate = mean1 - mean0 if n0 and n1 else 0.0
    if n0 < 2 or n1 < 2:
        return ArmInterval(-math.inf, math.inf, estimate, n0, n1, METHOD)
    half = float(
        half_widths(
            np.array(n0, dtype=float),
            np.array(var0),
            np.array(n1, dtype=float),
            np.array(var1),
            alpha=alpha,
        )
    )
    return ArmInterval(estimate - half, estimate + half, estimate, n0, n1, METHOD)


def chi_square_survival(statistic: float, df: int) -> float:
    """P(X ≥ statistic) for X ~ chi-square with `df` degrees of freedom."""
    if df < 1:
        raise InputError(f"df: {df} degrees of freedom; at least 1 needed")
    if statistic <= 0.0:
        return 1.0
    return _upper_gamma_regularized(df / 2.0, statistic / 2.0)


def _upper_gamma_regularized(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x)/Γ(a): a series below a + 1, Lentz's continued fraction above."""
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        k = a
        while abs(term) > abs(total) * 1e-16:
            k += 1.0
            term *= x / k
            total += term
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return min(1.0, math.exp(log_prefix) * h)


def sample_ratio_p_value(counts: Sequence[int], weights: Sequence[float]) -> float:
    """Chi-square p-value that the arms' counts were drawn in proportion to their weights."""
    if len(counts) != len(weights):
        raise InputError(f"counts: {len(counts)} arms but weights: {len(weights)}")
    if any(c < 0 for c in counts) or any(not w >= 0 for w in weights):
        raise InputError("counts and weights must not be negative")
    if not sum(weights) > 0:
        raise InputError("weights: at least one arm needs a positive weight")
    total = sum(counts)
    if total == 0:
        return 1.0
    share = sum(weights)
    statistic = 0.0
    arms = 0
    for count, weight in zip(counts, weights, strict=True):
        if weight == 0:
            if count:
                return 0.0  # an arm that should get nothing got something: the split is broken
            continue
        expected = total * weight / share
        statistic += (count - expected) ** 2 / expected
        arms += 1
    return 1.0 if arms < 2 else chi_square_survival(statistic, arms - 1)


def live_status(
    interval: ArmInterval, *, margin: float, min_per_arm: int, higher_is_better: bool
) -> GateStatus:
    """Pass when the interval lies wholly on the good side of −margin, fail when on the bad."""
    if min(interval.n_control, interval.n_canary) < min_per_arm:
        return GateStatus.INCONCLUSIVE
    # Orient so that a larger difference is always better; the margin is the loss allowed.
    low, high = (
        (interval.low, interval.high) if higher_is_better else (-interval.high, -interval.low)
    )
    if low > -margin:
        return GateStatus.PASS
    if high < -margin:
        return GateStatus.FAIL
    return GateStatus.INCONCLUSIVE
