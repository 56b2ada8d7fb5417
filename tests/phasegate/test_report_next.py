"""The report's last words: what a person can do about a held move; guardrails in words."""

from datetime import UTC, datetime
from pathlib import Path

from phasegate.report_html import load_report, render_report
from phasegate.report_next import compared, next_step
from state.db import store_session
from state.decisions import record_decision
from state.domain import Decision, DecisionDraft, GateResult
from state.phases import DecisionKind, GateStatus, Phase, Stage
from state.settings import Settings
from state.spec import load_spec
from state.use_cases import apply_spec
from tests.specs import write_spec

LATENCY = GateResult(
    check="latency",
    stage=Stage.PROMOTION,
    status=GateStatus.INCONCLUSIVE,
    observed=5721.0,
    threshold=5000.0,
    detail="candidate p95 5,721 ms [4,100, 7,900] straddles the budget 5,000 ms",
    evidence={"p95_ms_low": 4100.0, "p95_ms_high": 7900.0, "paired_difference_ms": 412.0},
)
GAIN = GateResult(
    check="quality_gain",
    stage=Stage.PROMOTION,
    status=GateStatus.INCONCLUSIVE,
    observed=0.067,
    threshold=0.0,
    detail="gain +0.067",
    evidence={"paired": 36, "ci_low": -0.02, "ci_high": 0.15},
)
GUARDRAIL = GateResult(
    check="guardrail_max_length",
    stage=Stage.PROMOTION,
    status=GateStatus.PASS,
    observed=-1.0,
    threshold=-5.0,
    detail="max_length (lower is better): …",
    evidence={
        "paired": 36,
        "active_only": 0,
        "candidate_only": 0,
        "metric": "max_length",
        "direction": "lower",
        "margin": 5.0,
        "relative": False,
        "margin_in_units": 5.0,
    },
)


def _decision(kind: DecisionKind, *gates: GateResult) -> Decision:
    return Decision(
        id=1,
        use_case="demo-qa",
        kind=kind,
        from_phase=Phase.PROMPTING,
        to_phase=Phase.RAG,
        configuration_id=1,
        candidate_configuration_id=2,
        spec_hash="s" * 64,
        decided_by="phasegate",
        reason="…",
        flow_run_id=None,
        eval_run_ids=[],
        gate_results=list(gates),
        created_at=datetime(2026, 12, 7, tzinfo=UTC),
    )


def test_a_move_held_for_a_person_says_how_to_answer_and_what_would_settle_it() -> None:
    step = next_step("demo-qa", _decision(DecisionKind.HELD, GAIN, LATENCY, GUARDRAIL))
    assert step is not None
    assert step.headline.endswith("held for a person: quality_gain, latency could not tell.")
    assert "phasegate check demo-qa` without `--auto-approve`" in step.actions[0]
    assert "Prefect UI" in step.actions[0] and "phasegate approve demo-qa" in step.actions[0]
    gain, latency = step.evidence
    # Half-width 0.085 against a mean gain 0.067 over 36 items: 36 × (0.085 / 0.067)² ≈ 58.
    assert "about 58 paired items would settle it" in gain
    assert "[4,100, 7,900] ms straddles the budget 5,000 ms" in latency
    assert "+412 ms per call" in latency


def test_a_failed_move_says_what_to_change() -> None:
    failed = LATENCY.model_copy(update={"status": GateStatus.FAIL})
    step = next_step("demo-qa", _decision(DecisionKind.HELD, failed))
    assert step is not None and step.headline.endswith("held: latency failed.")
    assert "phasegate apply SPEC" in step.actions[0]


def test_a_move_that_did_not_start_names_the_missing_data() -> None:
    documents = GateResult(
        check="data_documents",
        stage=Stage.ENTRY,
        status=GateStatus.FAIL,
        observed=0,
        threshold=1,
        detail="no documents",
    )
    step = next_step("demo-qa", _decision(DecisionKind.HELD, documents))
    assert step is not None and "did not start: data_documents not met" in step.headline
    assert "data.documents" in step.actions[0]


def test_an_expired_approval_says_to_ask_again_and_an_advance_needs_nothing() -> None:
    step = next_step("demo-qa", _decision(DecisionKind.EXPIRED, LATENCY))
    assert step is not None and "no one answered in time" in step.headline
    assert next_step("demo-qa", _decision(DecisionKind.ADVANCED, GUARDRAIL)) is None


def test_a_guardrail_says_what_it_compared() -> None:
    assert compared(GUARDRAIL) == (
        "max_length of each answer, candidate against active on the same 36 items (lower is "
        "better): it passes when the candidate is surely no worse than the active by more than 5"
    )
    assert compared(LATENCY) is None


def test_report_of_a_held_move_ends_with_what_next(settings: Settings, tmp_path: Path) -> None:
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path)), session=session)
        # An older decision first: the report's last words are about the newest one.
        baselined = DecisionDraft(
            kind=DecisionKind.BASELINED,
            to_phase=Phase.PROMPTING,
            decided_by="phasegate",
            reason="ok",
        )
        record_decision("demo-qa", baselined, expected_version=1, session=session)
        draft = DecisionDraft(
            kind=DecisionKind.HELD,
            to_phase=Phase.RAG,
            decided_by="phasegate",
            reason="inconclusive gates need a person",
            gate_results=[GAIN, LATENCY, GUARDRAIL],
        )
        record_decision("demo-qa", draft, expected_version=2, session=session)
    html = render_report(load_report("demo-qa", store_url=settings.store_url))
    assert html.index('<h2 id="next-step">What next</h2>') > html.index("<h2>Eval runs</h2>")
    assert "compared: max_length of each answer" in html
    assert "What would settle it:" in html
