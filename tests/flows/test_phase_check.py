"""The phase check through real flow runs: support-qa from prompting to RAG to fine-tuning."""

import pytest

from flows.phase_check import check_phase
from state.db import store_session
from state.decisions import list_decisions
from state.errors import NotFound
from state.evals import get_eval_run
from state.settings import Settings
from tests.flows.checks import JourneyRecord
from tests.flows.journey import APPROVER, USE_CASE, activations, approval_row, leases

pytestmark = pytest.mark.prefect

RAG_GATES = [
    ("entry", "need_quality", "pass"),
    ("entry", "data_documents", "pass"),
    ("entry", "eval_power", "pass"),
    ("promotion", "quality_gain", "pass"),
    ("promotion", "guardrail_max_length", "pass"),
    ("promotion", "guardrail_llm_judge", "pass"),
    ("promotion", "quality_floor", "pass"),
    ("promotion", "latency", "pass"),
]
FINE_TUNING_GATES = [
    ("entry", "need", "pass"),
    ("entry", "data_examples", "pass"),
    ("entry", "privacy", "pass"),
    ("entry", "eval_power", "pass"),
    ("promotion", "checkpoint_selection", "pass"),
    ("promotion", "quality_gain", "pass"),
    ("promotion", "guardrail_max_length", "pass"),
    ("promotion", "guardrail_llm_judge", "pass"),
    ("promotion", "quality_floor", "pass"),
    ("promotion", "latency", "pass"),
    ("promotion", "cost_break_even", "pass"),
    ("approval", "approval", "pass"),
]


def _gates(step) -> list[tuple[str, str, str]]:
    return [(g.stage, g.check, g.status) for g in step.decision.gate_results]


def _means(record: JourneyRecord, step: str) -> tuple[float, float]:
    """(active, candidate) means of the eval runs a decision cites."""
    active_id, candidate_id = record.steps[step].decision.eval_run_ids
    with store_session(record.journey.store_url) as session:
        return (
            get_eval_run(active_id, session=session).mean,
            get_eval_run(candidate_id, session=session).mean,
        )


def test_check_phase_first_check_baselines_the_best_prompt_variant(
    journey_record: JourneyRecord,
) -> None:
    step = journey_record.steps["baselined"]
    assert (step.state.type.value, step.state.name) == ("COMPLETED", "Baselined")
    assert (step.decision.kind, step.decision.from_phase, step.decision.to_phase) == (
        "baselined",
        "prompting",
        "prompting",
    )
    assert (step.decision.decided_by, step.decision.flow_run_id) == ("phasegate", step.flow_run_id)
    assert _gates(step) == [("promotion", "prompt_ab", "pass")]
    assert step.use_case.active_phase == "prompting"
    assert step.active.id == step.decision.configuration_id
    assert (step.active.phase, step.active.model, step.active.retrieval) == (
        "prompting",
        "sandbox-base",
        None,
    )


def test_check_phase_second_check_advances_to_rag_without_approval(
    journey_record: JourneyRecord,
) -> None:
    step = journey_record.steps["rag"]
    assert (step.state.name, step.decision.kind, step.decision.from_phase) == (
        "Advanced",
        "advanced",
        "prompting",
    )
    assert (step.decision.to_phase, step.decision.decided_by) == ("rag", "phasegate")
    assert step.decision.reason == "every gate passed"
    assert _gates(step) == RAG_GATES
    assert step.use_case.active_phase == "rag"
    assert (
        step.active.id == step.decision.configuration_id == step.decision.candidate_configuration_id
    )
    assert (step.active.phase, step.active.retrieval["top_k"]) == ("rag", 3)
    assert approval_row(journey_record.journey.store_url, step.flow_run_id) is None


def test_check_phase_times_active_and_candidate_interleaved(
    journey_record: JourneyRecord,
) -> None:
    step = journey_record.steps["rag"]
    latency = next(g for g in step.decision.gate_results if g.check == "latency")
    evidence = latency.evidence
    assert evidence["measured"].startswith("measured interleaved with the active configuration")
    assert evidence["n"] == step.decision.gate_results[3].evidence["paired"]
    assert (
        evidence["paired_difference_ms_low"]
        <= evidence["paired_difference_ms"]
        <= evidence["paired_difference_ms_high"]
    )
    assert evidence["p95_ms_low"] <= latency.observed <= evidence["p95_ms_high"]


def test_check_phase_third_check_waits_for_approval_with_the_gate_report(
    journey_record: JourneyRecord,
) -> None:
    step, asked = journey_record.steps["fine_tuning"], journey_record.approval
    assert (asked.flow_run_id, asked.status, asked.to_phase) == (
        step.flow_run_id,
        "pending",
        "fine_tuning",
    )
    assert asked.candidate_configuration_id == step.decision.candidate_configuration_id
    [report] = journey_record.reports_while_paused
    assert "**Outcome:** waiting for approval" in report
    assert "| promotion | `cost_break_even` | ✅ pass |" in report


def test_check_phase_approved_move_records_approver_reason_and_gates(
    journey_record: JourneyRecord,
) -> None:
    step = journey_record.steps["fine_tuning"]
    assert (step.state.name, step.decision.kind) == ("Advanced", "advanced")
    assert (step.decision.from_phase, step.decision.to_phase) == ("rag", "fine_tuning")
    assert (step.decision.decided_by, step.decision.reason) == (
        APPROVER["approver"],
        APPROVER["reason"],
    )
    assert _gates(step) == FINE_TUNING_GATES
    assert step.decision.gate_results[-1].observed == APPROVER["approver"]


def test_check_phase_approved_move_activates_the_tuned_model(
    journey_record: JourneyRecord,
) -> None:
    step = journey_record.steps["fine_tuning"]
    assert step.use_case.active_phase == "fine_tuning"
    assert (
        step.active.id == step.decision.configuration_id == step.decision.candidate_configuration_id
    )
    assert step.active.phase == "fine_tuning"
    assert step.active.model.startswith("ft:sandbox-base:")
    assert step.active.model_version_id is not None


def test_check_phase_approved_move_closes_the_approval_request(
    journey_record: JourneyRecord,
) -> None:
    step = journey_record.steps["fine_tuning"]
    row = approval_row(journey_record.journey.store_url, step.flow_run_id)
    assert (row["status"], row["approver"], row["reason"]) == (
        "approved",
        APPROVER["approver"],
        APPROVER["reason"],
    )
    assert row["decided_at"] is not None


def test_check_phase_publishes_the_gate_report_of_each_decision(
    journey_record: JourneyRecord,
) -> None:
    for name, step in journey_record.steps.items():
        report = step.reports[-1]
        assert f"**Outcome:** {step.decision.kind}: {step.decision.reason}" in report, name
        for gate in step.decision.gate_results:
            assert f"| {gate.stage} | `{gate.check}` |" in report, (name, gate.check)
    assert [len(step.reports) for step in journey_record.steps.values()] == [1, 1, 2, 1]


def test_check_phase_rag_beats_prompting_and_fine_tuning_beats_rag(
    journey_record: JourneyRecord,
) -> None:
    prompting, rag = _means(journey_record, "rag")
    rag_again, tuned = _means(journey_record, "fine_tuning")
    assert prompting < rag == rag_again < tuned
    gains = [
        next(
            g.observed
            for g in journey_record.steps[s].decision.gate_results
            if g.check == "quality_gain"
        )
        for s in ("rag", "fine_tuning")
    ]
    assert gains == [pytest.approx(rag - prompting), pytest.approx(tuned - rag)]


def test_check_phase_in_the_last_phase_holds(journey_record: JourneyRecord) -> None:
    step, before = journey_record.steps["last"], journey_record.steps["fine_tuning"]
    assert (step.state.name, step.decision.kind, step.decision.to_phase) == (
        "Held",
        "held",
        "fine_tuning",
    )
    assert step.decision.reason == "fine_tuning is the last phase; monitoring guards it"
    assert (step.use_case.version, step.active) == (before.use_case.version, before.active)


def test_check_phase_history_agrees_with_the_decisions(journey_record: JourneyRecord) -> None:
    url = journey_record.journey.store_url
    with store_session(url) as session:
        decisions = list_decisions(USE_CASE, session=session)
    assert [d.kind for d in decisions] == ["baselined", "advanced", "advanced", "held"]
    assert activations(url) == [
        (d.id, d.configuration_id, d.to_phase) for d in decisions if d.kind != "held"
    ]
    assert journey_record.steps["last"].use_case.version == 1 + 3
    assert leases(url) == []


def test_check_phase_gate_evidence_names_stored_eval_runs(journey_record: JourneyRecord) -> None:
    """A check stores its runs with its decision: the evidence names them by their stored ids."""
    with store_session(journey_record.journey.store_url) as session:
        decisions = list_decisions(USE_CASE, session=session)
        cited = {
            value
            for decision in decisions
            for gate in decision.gate_results
            for key, value in gate.evidence.items()
            if key.endswith("_eval_run_id") and value is not None
        }
        assert cited, "no gate cites an eval run"
        stored = {run_id for run_id in cited if get_eval_run(run_id, session=session) is not None}
    assert stored == cited


def test_check_phase_unknown_use_case_raises_not_found(flows_api: None, settings: Settings) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'ghost'"):
        check_phase("ghost")


def test_eval_table_lists_every_item_of_a_run() -> None:
    from state.domain import ItemResult
    from tasks.reports import eval_table
    from tests.tasks.gate_builders import eval_run

    run = eval_run(
        [
            ItemResult(item_id="a", score=1.0, output="yes", prompt_tokens=10, completion_tokens=2),
            ItemResult(item_id="b", score=None, error="timeout"),
        ]
    )
    rows = eval_table(run)
    assert [(r["item"], r["score"], r["tokens"], r["error"]) for r in rows] == [
        ("a", 1.0, 12, ""),
        ("b", None, 0, "timeout"),
    ]
