"""Rollout checks on live interactions: sample ratio, primary superiority, guardrail margins."""

import random

from state.domain import Observation
from state.phases import GateStatus, Stage
from state.spec_rollout import LiveMetrics
from tasks.gates import ROLLOUT_CHECKS, ArmSample, LiveInputs, run_rollout_checks
from tasks.gates.live import (
    agrees,
    gate_live_error_rate,
    gate_live_latency,
    gate_live_primary,
    gate_live_sample_ratio,
)

METRICS = LiveMetrics(min_per_arm=50)


def _arm(name: str, n: int, rating: float, *, error: float = 0.0, seed: int = 0, **kw) -> ArmSample:
    draw = random.Random(seed)
    return ArmSample(
        name=name,
        configuration_id=1 if name == "control" else 2,
        interactions=n,
        ratings=[float(draw.random() < rating) for _ in range(n)],
        errors=[float(draw.random() < error) for _ in range(n)]
        if "errors" not in kw
        else kw["errors"],
        latencies=kw.get("latencies", []),
    )


def _inputs(control: ArmSample, canary: ArmSample, weights=(50.0, 50.0)) -> LiveInputs:
    return LiveInputs(
        use_case="demo-qa", control=control, canary=canary, weights=list(weights), metrics=METRICS
    )


def test_rollout_stage_registers_the_ratio_check_first() -> None:
    assert ROLLOUT_CHECKS[0] is gate_live_sample_ratio


def test_live_primary_passes_a_clearly_better_canary() -> None:
    result = gate_live_primary(_inputs(_arm("control", 800, 0.5), _arm("canary", 800, 0.8, seed=1)))
    assert (result.status, result.stage, result.check) == (
        GateStatus.PASS,
        Stage.ROLLOUT,
        "live_rating",
    )
    assert result.evidence["low"] > 0


def test_live_primary_fails_a_clearly_worse_canary() -> None:
    result = gate_live_primary(_inputs(_arm("control", 800, 0.8), _arm("canary", 800, 0.4, seed=1)))
    assert result.status == GateStatus.FAIL
    assert result.evidence["high"] < 0


def test_live_primary_is_inconclusive_below_min_per_arm() -> None:
    result = gate_live_primary(_inputs(_arm("control", 49, 0.1), _arm("canary", 49, 0.9, seed=1)))
    assert result.status == GateStatus.INCONCLUSIVE
    assert "49 interactions in the smaller arm, 50 needed" in result.detail


def test_live_primary_on_identical_arms_is_inconclusive() -> None:
    result = gate_live_primary(_inputs(_arm("control", 300, 0.6), _arm("canary", 300, 0.6, seed=1)))
    assert result.status == GateStatus.INCONCLUSIVE


def test_live_label_agreement_compares_outputs_with_labels() -> None:
    assert agrees(" Billing ", "billing") == 1.0 and agrees("billing", "login") == 0.0
    seen = [
        Observation(
            configuration_id=2, output="a", label="a", rating=None, latency_ms=None, error=None
        ),
        Observation(
            configuration_id=2, output="a", label="b", rating=None, latency_ms=None, error=None
        ),
    ]
    assert ArmSample.of("canary", 2, seen).agreements == [1.0, 0.0]
    metrics = METRICS.model_copy(update={"primary": "label_agreement"})
    inputs = _inputs(_arm("control", 10, 0.5), ArmSample.of("canary", 2, seen))
    result = gate_live_primary(inputs.model_copy(update={"metrics": metrics}))
    assert result.check == "live_label_agreement"


def test_live_error_rate_fails_a_canary_that_errs_more_than_the_margin() -> None:
    inputs = _inputs(_arm("control", 600, 0.6, error=0.0), _arm("canary", 600, 0.6, error=0.3))
    assert gate_live_error_rate(inputs).status == GateStatus.FAIL


def test_live_error_rate_and_latency_do_not_apply_when_unreported() -> None:
    inputs = _inputs(_arm("control", 60, 0.6, errors=[]), _arm("canary", 60, 0.6, errors=[]))
    assert gate_live_error_rate(inputs) is None
    assert gate_live_latency(inputs) is None
    assert [r.check for r in run_rollout_checks(inputs)] == ["live_sample_ratio", "live_rating"]


def test_live_latency_passes_within_the_margin() -> None:
    fast = [100.0 + (i % 7) for i in range(200)]
    inputs = _inputs(
        _arm("control", 200, 0.6, latencies=fast), _arm("canary", 200, 0.6, latencies=fast)
    )
    assert gate_live_latency(inputs).status == GateStatus.PASS


def test_live_sample_ratio_fails_a_broken_split() -> None:
    broken = gate_live_sample_ratio(
        _inputs(_arm("control", 500, 0.5), _arm("canary", 500, 0.5), weights=(90, 10))
    )
    fine = gate_live_sample_ratio(
        _inputs(_arm("control", 905, 0.5), _arm("canary", 95, 0.5), weights=(90, 10))
    )
    assert (broken.status, fine.status) == (GateStatus.FAIL, GateStatus.PASS)
    assert broken.observed < 0.001 < fine.observed
