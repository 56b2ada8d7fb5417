"""At 80 columns no identifier is cut: each one the views print appears whole on one line."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from phasegate.cli.exits import run
from state import db
from state.approvals import request_approval
from state.configurations import save_configuration
from state.decisions import record_decision
from state.domain import ConfigurationDraft, DecisionDraft, GateResult
from state.leases import acquire_lease
from state.phases import DecisionKind, GateStatus, Phase
from state.prompt_library import save_prompt_version
from state.settings import Settings
from state.spec import PromptVariant, load_spec
from state.use_cases import apply_spec, require_use_case
from tests.specs import write_spec

NAME = "feedback-triage-for-the-european-enterprise-customers"
MODEL = "ft:sandbox-base:feedback-triage-european-enterprise:7c1f3a9b"
VARIANT = "chain-of-thought-with-citations-and-a-rubric"
CHECK = "quality_gain_against_the_active_configuration"
RUN = "5f0c7a52-9b1e-4d3c-8a57-0c3d2b1e9f10"
REASON = "the candidate beats the active configuration on every item of the eval set " * 3


def _register(settings: Settings, specs: Path, name: str, model: str, variant: str) -> None:
    """A use case advanced to RAG by a recorded decision, with a pending approval and a lease."""
    with db.store_session(settings.store_url) as session:
        apply_spec(load_spec(write_spec(specs, name=name)), session=session)
        prompt = PromptVariant(name=variant, kind="chain_of_thought", template="Q: {input}")
        save_prompt_version(name, prompt, session=session)
        config = save_configuration(
            name, ConfigurationDraft(phase=Phase.RAG, model=model), session=session
        )
        gate = GateResult(
            check=CHECK, status=GateStatus.PASS, observed=model, threshold=0.0, detail=REASON
        )
        draft = DecisionDraft(
            kind=DecisionKind.ADVANCED,
            to_phase=Phase.RAG,
            configuration_id=config.id,
            decided_by="ana-maria-the-approver",
            reason=REASON,
            flow_run_id=RUN,
            gate_results=[gate],
        )
        version = require_use_case(name, session=session).version
        record_decision(name, draft, expected_version=version, session=session)
        expires = datetime.now(UTC) + timedelta(hours=1)
        request_approval(
            name,
            RUN,
            to_phase=Phase.FINE_TUNING,
            candidate_configuration_id=None,
            expires_at=expires,
            session=session,
        )
        acquire_lease(name, RUN, ttl_seconds=60, session=session)


@pytest.fixture(name="long_names")
def long_names_fixture(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A use case with long identifiers everywhere: name, model, prompt, gate check, flow run."""
    monkeypatch.setenv("COLUMNS", "80")
    _register(settings, tmp_path / "specs", NAME, MODEL, VARIANT)
    return settings


@pytest.fixture(name="short_names")
def short_names_fixture(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A use case with names like the examples' (support-qa, sandbox-base)."""
    monkeypatch.setenv("COLUMNS", "80")
    _register(settings, tmp_path / "specs", "support-qa", "sandbox-base", "zero-shot")
    return settings


def _lines(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert run(list(args)) == 0
    return capsys.readouterr().out.splitlines()


def _whole(lines: list[str], *identifiers: str) -> None:
    for identifier in identifiers:
        assert any(identifier in line for line in lines), f"{identifier} is cut: {lines}"


def test_status_at_80_columns_keeps_every_identifier_whole(long_names: Settings, capsys) -> None:
    _whole(_lines(capsys, "status"), NAME, MODEL, "advanced", "rag", "pending → fine_tuning")


def test_history_in_a_pipe_keeps_ids_whole_and_the_reason_below(
    long_names: Settings, capsys
) -> None:
    lines = _lines(capsys, "history", NAME)
    _whole(lines, NAME, "ana-maria-the-approver", "prompting→rag", "advanced")
    assert all(len(line) <= 80 and not line.endswith("…") for line in lines)
    # The reason follows the table, headed by the decision's number, wrapped but whole.
    start = next(i for i, line in enumerate(lines) if "— reason: the cand" in line)
    assert " ".join(lines[start:]).split("reason: ")[1].split() == REASON.split()
    assert CHECK not in "\n".join(lines)


def test_history_in_a_pipe_without_columns_is_120_wide(
    long_names: Settings, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS")
    lines = _lines(capsys, "history", NAME)
    assert 80 < max(len(line) for line in lines) <= 120


def test_history_of_short_names_is_one_line_a_decision(short_names: Settings, capsys) -> None:
    lines = _lines(capsys, "history", "support-qa")
    decision = [line for line in lines if "advanced" in line]
    assert len(decision) == 1 and len(decision[0]) <= 80
    _whole(decision, "2026", "prompting→rag", "ana-maria-the-approver")
    # In a pipe the long reason is not cut: it follows the table.
    _whole(lines, "1 — reason: the cand")


def test_prompts_list_of_short_names_is_a_table(short_names: Settings, capsys) -> None:
    lines = _lines(capsys, "prompts", "list", "support-qa")
    row = [line for line in lines if "zero-shot@v1" in line]
    assert len(row) == 1 and "chain_of_thought" in row[0] and len(row[0]) <= 80


def test_history_gates_shows_each_check_whole(long_names: Settings, capsys) -> None:
    _whole(_lines(capsys, "history", NAME, "--gates"), CHECK, MODEL, "pass")


def test_prompts_list_keeps_the_label_to_type_next_whole(long_names: Settings, capsys) -> None:
    _whole(_lines(capsys, "prompts", "list", NAME), f"{VARIANT}@v1", "chain_of_thought")


def test_lease_list_keeps_the_flow_run_id_whole(long_names: Settings, capsys) -> None:
    _whole(_lines(capsys, "lease", "list"), NAME, RUN)
