"""Gates through real flow runs: a tie, an underpowered eval set and a guardrail hold a move."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows.checks import run_check
from tests.flows.journey import ROOT, USE_CASE, Journey

pytestmark = pytest.mark.prefect

GATES = yaml.safe_load((ROOT / "usecases" / USE_CASE / "spec.yaml").read_text())["gates"]


def _gates(**prompting_to_rag: Any) -> dict[str, Any]:
    return GATES | {"prompting_to_rag": GATES["prompting_to_rag"] | prompting_to_rag}


def test_an_underpowered_eval_set_is_held_before_any_candidate_is_built(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("baselined", gates=_gates(min_detectable_gain=0.01))

    step = run_check(journey)

    checks = {g.check: g for g in step.decision.gate_results}
    assert step.decision.kind == "held"
    assert checks["eval_power"].status == "inconclusive"
    assert "min_detectable_gain 0.01 needs ≈" in checks["eval_power"].detail
    assert "quality_gain" not in checks
    # The active run is reused from the store: not one call, for the candidate or anything else.
    assert journey.sandbox.stats()["chat_completions"] == 0
    assert step.use_case.active_phase == "prompting"


def test_a_rag_candidate_that_wins_on_the_primary_but_answers_too_long_is_held(
    journey_from: Callable[..., Journey],
) -> None:
    # RAG quotes whole sentences from the documents; the baseline's answers are short.
    guardrail = {"metric": "max_length", "max_chars": 60, "margin": 0.05}
    journey = journey_from("baselined", metrics={"primary": "token_f1", "guardrails": [guardrail]})

    step = run_check(journey)

    checks = {g.check: g for g in step.decision.gate_results}
    assert step.decision.kind == "held"
    assert checks["quality_gain"].status == "pass"
    length = checks["guardrail_max_length"]
    assert length.status == "fail"
    assert length.evidence["ci_high"] < -0.05
    assert step.use_case.active_phase == "prompting"


def test_a_rag_candidate_whose_documents_are_irrelevant_ties_and_is_held(
    journey_from: Callable[..., Journey], tmp_path: Path
) -> None:
    # Issue 11's case: retrieval finds nothing useful, so RAG answers exactly as prompting did.
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    (unrelated / "garden.md").write_text("# Gardening\n\nTomatoes like sun and water.\n")
    spec = yaml.safe_load((ROOT / "usecases" / USE_CASE / "spec.yaml").read_text())
    journey = journey_from("baselined", data=spec["data"] | {"documents": str(unrelated)})

    step = run_check(journey)

    gain = {g.check: g for g in step.decision.gate_results}["quality_gain"]
    assert step.decision.kind == "held"
    assert gain.status == "fail"
    assert (gain.evidence["ci_low"], gain.evidence["ci_high"]) == (0.0, 0.0)
    assert "gains nothing" in gain.detail
    assert step.use_case.active_phase == "prompting"


def test_a_fine_tune_needed_for_volume_alone_is_judged_for_cost(
    journey_from: Callable[..., Journey],
) -> None:
    # RAG meets a target of 0.3; 9,000 queries a month exceed the break-even: cost is the need.
    cost_only = GATES | {"rag_to_fine_tuning": GATES["rag_to_fine_tuning"] | {"target": 0.3}}
    journey = journey_from("rag", gates=cost_only)

    step = run_check(journey, auto_approve=True)

    checks = {g.check: g for g in step.decision.gate_results}
    gain = checks["quality_gain"]
    assert checks["need"].observed == "volume"
    assert (gain.evidence["rule"], gain.evidence["objective"]) == ("non_inferiority", "cost")
    assert "needed for volume alone" in gain.detail
    low, high = gain.evidence["ci_low"], gain.evidence["ci_high"]
    expected = "pass" if low > -0.02 else "fail" if high < -0.02 else "inconclusive"
    assert (gain.status, gain.threshold) == (expected, -0.02)
    moved = all(g.status == "pass" for g in step.decision.gate_results)
    assert step.decision.kind == ("advanced" if moved else "held")
