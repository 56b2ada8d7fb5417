"""Guardrail gates: paired non-inferiority per guardrail metric, both directions, both margins."""

from typing import Any

import pytest

from state.domain import EvalRun, ItemResult
from state.phases import GateStatus
from state.spec_metrics import Guardrail
from tasks.gates import (
    MONITOR,
    MONITOR_CHECKS,
    Verdict,
    apply_checks,
    gate_guardrails,
    run_checks,
    verdict,
)
from tests.tasks.gate_builders import FAIL, INCONCLUSIVE, PASS, eval_run, gate_inputs

JSON, PROSE = '{"label": "positive/sync/low"}', "The label is positive, sync, low."


def _run(scores: list[float], outputs: list[str], *, run_id: int = 1, **item: Any) -> EvalRun:
    results = [
        ItemResult(item_id=f"q{i:03d}", score=score, output=output, **item)
        for i, (score, output) in enumerate(zip(scores, outputs, strict=True))
    ]
    return eval_run(scores, run_id=run_id).model_copy(update={"results": results})


def _measured(metric_values: list[float], *, run_id: int = 1, field: str) -> EvalRun:
    results = [
        ItemResult(item_id=f"q{i:03d}", score=0.5, output="x", **{field: value})
        for i, value in enumerate(metric_values)
    ]
    return eval_run([0.5] * len(results), run_id=run_id).model_copy(update={"results": results})


def _one(guardrail: Guardrail, baseline: EvalRun, subject: EvalRun) -> Any:
    inputs = gate_inputs(guardrails=[guardrail], baseline=baseline, subject=subject)
    [result] = gate_guardrails(inputs)
    return result


def test_a_candidate_that_wins_on_the_primary_but_breaks_json_is_held() -> None:
    active = _run([0.5] * 40, [JSON] * 40)
    candidate = _run([0.9] * 40, [PROSE] * 30 + [JSON] * 10, run_id=2)
    inputs = gate_inputs(
        guardrails=[Guardrail(metric="json_valid", margin=0.05)], baseline=active, subject=candidate
    )

    results = {r.check: r for r in run_checks(inputs, "promotion")}

    assert results["quality_gain"].status == PASS
    guardrail = results["guardrail_json_valid"]
    assert (guardrail.status, guardrail.observed) == (FAIL, -0.75)
    assert guardrail.evidence["active_mean"] == 1.0
    assert guardrail.evidence["candidate_mean"] == 0.25
    assert verdict(list(results.values())) == Verdict.HOLD


@pytest.mark.parametrize(
    ("slower_ms", "status"),
    [(99.0, PASS), (100.0, PASS), (101.0, FAIL)],
    ids=["within-margin", "at-margin", "beyond-margin"],
)
def test_a_lower_is_better_guardrail_fails_beyond_its_absolute_margin(
    slower_ms: float, status: GateStatus
) -> None:
    guardrail = Guardrail(metric="latency_ms", margin=100.0)
    active = _measured([500.0] * 40, field="latency_ms")
    candidate = _measured([500.0 + slower_ms] * 40, run_id=2, field="latency_ms")

    result = _one(guardrail, active, candidate)

    assert (result.status, result.observed, result.threshold) == (status, -slower_ms, -100.0)


def test_a_lower_is_better_guardrail_passes_an_improvement() -> None:
    guardrail = Guardrail(metric="latency_ms", margin=0.0)
    active = _measured([500.0] * 40, field="latency_ms")
    candidate = _measured([300.0] * 40, run_id=2, field="latency_ms")
    assert _one(guardrail, active, candidate).status == PASS


@pytest.mark.parametrize(
    ("tokens", "status"),
    [(109, PASS), (110, PASS), (111, FAIL)],
    ids=["within-margin", "at-margin", "beyond-margin"],
)
def test_a_relative_margin_is_a_share_of_the_active_mean(tokens: int, status: GateStatus) -> None:
    guardrail = Guardrail(metric="output_tokens", margin=0.1, relative=True)
    active = _measured([100] * 40, field="completion_tokens")
    candidate = _measured([tokens] * 40, run_id=2, field="completion_tokens")

    result = _one(guardrail, active, candidate)

    assert result.status == status
    assert result.evidence["margin_in_units"] == pytest.approx(10.0)


def _judged(grade: float, *, run_id: int = 1) -> EvalRun:
    run = _run([0.5] * 40, ["an answer"] * 40, run_id=run_id)
    return run.model_copy(
        update={"extra": {"judge_scores": {f"q{i:03d}": grade for i in range(40)}}}
    )


@pytest.mark.parametrize(
    ("margin", "status"),
    [(0.24, FAIL), (0.25, PASS), (0.26, PASS)],
    ids=["drop-beyond-margin", "drop-at-margin", "drop-within-margin"],
)
def test_a_higher_is_better_judge_guardrail_at_its_absolute_margin(
    margin: float, status: GateStatus
) -> None:
    guardrail = Guardrail(metric="llm_judge", margin=margin)
    result = _one(guardrail, _judged(0.75), _judged(0.5, run_id=2))
    assert (result.status, result.observed) == (status, -0.25)


def test_a_guardrail_is_inconclusive_when_its_interval_straddles_the_margin() -> None:
    active = _run([0.5] * 40, [JSON] * 40)
    candidate = _run([0.5] * 40, [PROSE] * 4 + [JSON] * 36, run_id=2)
    result = _one(Guardrail(metric="json_valid", margin=0.1), active, candidate)
    assert result.status == INCONCLUSIVE
    assert result.evidence["ci_low"] < -0.1 < result.evidence["ci_high"]


def test_a_guardrail_is_inconclusive_with_too_few_items_that_have_a_value() -> None:
    active = _run([0.5] * 10, [JSON] * 10)
    candidate = _run([0.5] * 10, [PROSE] * 10, run_id=2)
    result = _one(Guardrail(metric="json_valid"), active, candidate)
    assert result.status == INCONCLUSIVE
    assert "10 paired eval items; 30 needed" in result.detail


@pytest.mark.parametrize(
    ("bound", "status"),
    [({"floor": 0.9}, FAIL), ({"floor": 0.5}, PASS), ({"ceiling": 0.4}, FAIL)],
    ids=["below-floor", "above-floor", "above-ceiling"],
)
def test_a_guardrail_floor_or_ceiling_bounds_the_subject_mean(
    bound: dict[str, float], status: GateStatus
) -> None:
    active = _run([0.5] * 40, [JSON] * 20 + [PROSE] * 20)
    candidate = _run([0.5] * 40, [JSON] * 20 + [PROSE] * 20, run_id=2)
    result = _one(Guardrail(metric="json_valid", **bound), active, candidate)
    assert result.status == status


def test_monitoring_checks_guardrails_of_a_fresh_run() -> None:
    baseline = _run([0.5] * 40, [JSON] * 40)
    current = _run([0.5] * 40, [PROSE] * 40, run_id=2)
    inputs = gate_inputs(
        roles=MONITOR,
        guardrails=[Guardrail(metric="json_valid", name="structured")],
        baseline=baseline,
        subject=current,
    )

    results = {r.check: r for r in apply_checks(MONITOR_CHECKS, inputs)}

    structured = results["guardrail_structured"]
    assert (structured.stage, structured.status) == ("monitor", FAIL)
    assert results["regression"].status == PASS
    assert structured.evidence["current_eval_run_id"] == 2
