"""The always-valid difference sequence, the sample-ratio chi-square and the live verdict."""

import math

import numpy as np
import pytest

from state.errors import InputError
from state.phases import GateStatus
from tasks.live_stats import (
    METHOD,
    TIGHTEST_AT,
    ArmInterval,
    chi_square_survival,
    difference_sequence,
    live_status,
    mixture_rho2,
    sample_ratio_p_value,
)


@pytest.mark.parametrize(
    ("statistic", "df", "expected"),
    [
        (3.841458820694124, 1, 0.05),
        (6.634896601021214, 1, 0.01),
        (10.827566170662733, 1, 0.001),
        (5.991464547107979, 2, 0.05),
        (11.070497693516351, 5, 0.05),
        (18.307038053275146, 10, 0.05),
        (124.34211340400407, 100, 0.05),
        (0.454936423119572, 1, 0.5),
        (1.3862943611198906, 2, 0.5),
    ],
)
def test_chi_square_survival_matches_published_critical_values(
    statistic: float, df: int, expected: float
) -> None:
    assert chi_square_survival(statistic, df) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("statistic", [0.01, 0.7, 2.0, 9.0, 40.0, 300.0])
def test_chi_square_survival_has_the_closed_forms_of_one_and_two_degrees(statistic: float) -> None:
    assert chi_square_survival(statistic, 1) == pytest.approx(
        math.erfc(math.sqrt(statistic / 2)), rel=1e-9, abs=1e-300
    )
    assert chi_square_survival(statistic, 2) == pytest.approx(
        math.exp(-statistic / 2), rel=1e-9, abs=1e-300
    )


def test_chi_square_survival_of_zero_is_one() -> None:
    assert chi_square_survival(0.0, 3) == 1.0


def test_chi_square_survival_refuses_no_degrees_of_freedom() -> None:
    with pytest.raises(InputError, match="df"):
        chi_square_survival(1.0, 0)


def test_sample_ratio_p_value_is_pearson_chi_square() -> None:
    # 10 % canary expected 100 of 1,000; 130 observed: X² = 30²/100 + 30²/900 = 10.
    assert sample_ratio_p_value([870, 130], [0.9, 0.1]) == pytest.approx(
        math.erfc(math.sqrt(10 / 2)), rel=1e-9
    )


def test_sample_ratio_p_value_of_an_exact_split_is_one() -> None:
    assert sample_ratio_p_value([900, 100], [90, 10]) == pytest.approx(1.0)


def test_sample_ratio_p_value_flags_a_dropped_arm() -> None:
    assert sample_ratio_p_value([1000, 40], [0.9, 0.1]) < 1e-9


def test_sample_ratio_p_value_of_three_arms_uses_two_degrees() -> None:
    # Expected 100 each; X² = (20² + 20² + 0) / 100 = 8; two degrees: exp(-4).
    assert sample_ratio_p_value([120, 80, 100], [1, 1, 1]) == pytest.approx(math.exp(-4))


def test_sample_ratio_p_value_of_an_arm_weighted_zero_that_got_traffic_is_zero() -> None:
    assert sample_ratio_p_value([100, 1], [1.0, 0.0]) == 0.0


def test_sample_ratio_p_value_without_traffic_is_one() -> None:
    assert sample_ratio_p_value([0, 0], [0.5, 0.5]) == 1.0


@pytest.mark.parametrize(
    ("counts", "weights", "field"),
    [([1, 2], [1.0], "counts"), ([1, -2], [1, 1], "negative"), ([1, 2], [0, 0], "weights")],
)
def test_sample_ratio_p_value_refuses_bad_input(counts, weights, field: str) -> None:
    with pytest.raises(InputError, match=field):
        sample_ratio_p_value(counts, weights)


def test_mixture_rho2_makes_the_boundary_nearly_tightest_at_its_point() -> None:
    # Waudby-Smith et al.'s closed form approximates the optimum; the width it gives at t* is
    # within 0.1 % of the narrowest any ρ gives there.
    def width(rho2: float, t: float = 500.0, alpha: float = 0.05) -> float:
        return math.sqrt(
            2 * (t * rho2 + 1) / (t * t * rho2) * math.log(math.sqrt(t * rho2 + 1) / alpha)
        )

    chosen = mixture_rho2(0.05, 500.0)
    narrowest = min(width(rho2) for rho2 in np.geomspace(chosen / 10, chosen * 10, 4001))
    assert width(chosen) == pytest.approx(narrowest, rel=1e-3)
    assert width(chosen) < min(width(chosen / 2), width(chosen * 2))


def test_difference_sequence_matches_the_two_sample_msprt_boundary() -> None:
    rng = np.random.default_rng(3)
    control, canary = rng.normal(3.0, 1.0, 400), rng.normal(3.2, 1.5, 100)
    interval = difference_sequence(control.tolist(), canary.tolist(), alpha=0.05)
    # Johari et al. 2022: Δ̂ ± sqrt(V(V+τ²)/τ² · (log((V+τ²)/V) − 2 log α)), τ² = ρ²(s0² + s1²).
    v0, v1 = control.var(ddof=1), canary.var(ddof=1)
    variance = v0 / 400 + v1 / 100
    tau2 = mixture_rho2(0.05) * (v0 + v1)
    half = math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (math.log((variance + tau2) / variance) - 2 * math.log(0.05))
    )
    assert interval.estimate == pytest.approx(canary.mean() - control.mean())
    assert interval.high - interval.estimate == pytest.approx(half, rel=1e-12)
    assert interval.estimate - interval.low == pytest.approx(half, rel=1e-12)
    assert (interval.n_control, interval.n_canary, interval.method) == (400, 100, METHOD)


def test_difference_sequence_is_wider_than_a_fixed_interval_by_the_known_factor() -> None:
    # At its tightest point the 95 % sequence is 3.035 standard errors wide on each side, 1.549 ×
    # the fixed-sample 1.96: the price of looking at any time.
    rng = np.random.default_rng(5)
    control = rng.normal(0.0, 1.0, TIGHTEST_AT)
    canary = rng.normal(0.0, 1.0, TIGHTEST_AT)
    interval = difference_sequence(control, canary)
    fixed = 1.959963984540054 * math.sqrt(
        control.var(ddof=1) / TIGHTEST_AT + canary.var(ddof=1) / TIGHTEST_AT
    )
    assert (interval.high - interval.estimate) / fixed == pytest.approx(1.549, abs=1e-3)


def test_difference_sequence_narrows_as_data_arrive() -> None:
    rng = np.random.default_rng(1)
    control, canary = rng.normal(0.5, 0.3, 4000), rng.normal(0.5, 0.3, 4000)
    widths = [
        difference_sequence(control[:n], canary[:n]).high
        - difference_sequence(control[:n], canary[:n]).low
        for n in (50, 200, 1000, 4000)
    ]
    assert widths == sorted(widths, reverse=True)


def test_difference_sequence_below_two_per_arm_is_unbounded() -> None:
    interval = difference_sequence([1.0], [2.0, 3.0])
    assert (interval.low, interval.high, interval.estimate) == (-math.inf, math.inf, 1.5)


def test_difference_sequence_of_constant_arms_is_the_difference_itself() -> None:
    interval = difference_sequence([1.0] * 10, [1.0] * 10)
    assert (interval.low, interval.estimate, interval.high) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("control", "canary", "alpha", "field"),
    [
        ([1.0, math.nan], [1.0, 2.0], 0.05, "control"),
        ([1.0, 2.0], [1.0, math.inf], 0.05, "canary"),
        ([1.0, 2.0], [1.0, 2.0], 1.5, "alpha"),
    ],
)
def test_difference_sequence_refuses_bad_input(control, canary, alpha: float, field: str) -> None:
    with pytest.raises(InputError, match=field):
        difference_sequence(control, canary, alpha=alpha)


def _interval(low: float, high: float, n: int = 100) -> ArmInterval:
    return ArmInterval(low, high, (low + high) / 2, n, n, METHOD)


@pytest.mark.parametrize(
    ("low", "high", "margin", "higher_is_better", "expected"),
    [
        (0.01, 0.2, 0.0, True, GateStatus.PASS),
        (-0.2, -0.01, 0.0, True, GateStatus.FAIL),
        (-0.1, 0.1, 0.0, True, GateStatus.INCONCLUSIVE),
        (0.0, 0.1, 0.0, True, GateStatus.INCONCLUSIVE),
        (-0.04, 0.1, 0.05, True, GateStatus.PASS),
        (-0.3, -0.06, 0.05, True, GateStatus.FAIL),
        (-0.06, 0.1, 0.05, True, GateStatus.INCONCLUSIVE),
        (-0.2, -0.01, 0.0, False, GateStatus.PASS),
        (0.01, 0.2, 0.0, False, GateStatus.FAIL),
        (-0.1, 0.04, 0.05, False, GateStatus.PASS),
        (0.06, 0.3, 0.05, False, GateStatus.FAIL),
        (-0.1, 0.06, 0.05, False, GateStatus.INCONCLUSIVE),
    ],
)
def test_live_status_reads_the_interval_against_the_margin(
    low: float, high: float, margin: float, higher_is_better: bool, expected: GateStatus
) -> None:
    status = live_status(
        _interval(low, high), margin=margin, min_per_arm=30, higher_is_better=higher_is_better
    )
    assert status is expected


def test_live_status_below_the_minimum_per_arm_is_inconclusive() -> None:
    interval = ArmInterval(0.5, 0.9, 0.7, 500, 29, METHOD)
    assert live_status(interval, margin=0.0, min_per_arm=30, higher_is_better=True) is (
        GateStatus.INCONCLUSIVE
    )
    assert live_status(interval, margin=0.0, min_per_arm=29, higher_is_better=True) is (
        GateStatus.PASS
    )
