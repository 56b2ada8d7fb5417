"""Monitoring and the canary guard, through real flow runs on the sandbox over HTTP."""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from prefect.events import Event
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.hybrid import check_hybrid
from flows.monitoring import MonitorOutcome, monitor
from flows.phase_check import check_phase
from state.db import store_session
from state.decisions import list_decisions
from state.domain import Configuration, Decision, EvalRun, NewInteraction
from state.errors import NotFound
from state.evals import get_eval_run
from state.interactions import record_interactions
from state.leases import acquire_lease
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.use_cases import apply_spec, require_use_case
from tasks.events import REGRESSION_DETECTED
from tests.flows.stored_events import stored_events
from tests.flows.tiny_usecase import GUARDED, MODULES, TUNED, active_configuration, port, start_tiny
from tests.plugins.sandbox_server import SandboxServer
from tests.specs import write_spec


def _decisions(settings: Settings, name: str = TUNED) -> list[Decision]:
    with store_session(settings.store_url) as session:
        return list_decisions(name, session=session)


def _phase(settings: Settings, name: str = TUNED) -> str:
    with store_session(settings.store_url) as session:
        return require_use_case(name, session=session).active_phase


def _degrade(sandbox: SandboxServer, model: str, share: float = 0.5) -> None:
    sandbox.admin("POST", f"/sandbox/models/{model}/degrade", {"share": share})


def _regression_events(since: datetime, want: int) -> list[Event]:
    """The regression events of tiny-qa since `since`, once at least `want` are stored."""
    return stored_events(REGRESSION_DETECTED, since, f"phasegate.usecase.{TUNED}", want)


@dataclass(frozen=True)
class Rollback:
    """The tuned model degraded, then two monitor runs: what they returned, recorded, emitted."""

    tuned: Configuration
    rag: Decision
    first: MonitorOutcome
    second: MonitorOutcome
    decisions_after_first: list[Decision]
    decisions_after_second: list[Decision]
    active: Configuration
    current_run: EvalRun
    events: list[Event]


@pytest.fixture(name="rollback", scope="module")
def rollback_fixture(
    prefect_api: None, sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rollback]:
    """Run the rollback scenario once for the tests that read it."""
    data_dir = tmp_path_factory.mktemp("rollback")
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        for key in [k for k in os.environ if k.startswith("PHASEGATE_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("PHASEGATE_DATA_DIR", str(data_dir))
        get_settings.cache_clear()
        settings = start_tiny(get_settings(), sandbox_server, tmp_path_factory, monkeypatch)
        sandbox_server.reset()
        since = datetime.now(UTC)
        tuned = active_configuration(settings)
        rag = next(d for d in _decisions(settings) if d.to_phase == "rag" and d.kind == "advanced")
        _degrade(sandbox_server, tuned.model)
        first = monitor(TUNED)[TUNED]
        after_first = _decisions(settings)
        second = monitor(TUNED)[TUNED]
        regression = {g.check: g for g in first.gates}["regression"]
        with store_session(settings.store_url) as session:
            current = get_eval_run(regression.evidence["current_eval_run_id"], session=session)
        yield Rollback(
            tuned=tuned,
            rag=rag,
            first=first,
            second=second,
            decisions_after_first=after_first,
            decisions_after_second=_decisions(settings),
            active=active_configuration(settings),
            current_run=current,
            events=_regression_events(since, want=1),
        )
        sandbox_server.reset()
    get_settings.cache_clear()


def test_monitor_rolls_back_a_degraded_tuned_model_to_the_rag_configuration(
    rollback: Rollback,
) -> None:
    decision = rollback.decisions_after_first[-1]
    assert rollback.first.status == "rolled_back"
    assert (decision.kind, decision.from_phase, decision.to_phase, decision.decided_by) == (
        "rolled_back",
        "fine_tuning",
        "rag",
        "monitor",
    )
    assert decision.configuration_id == rollback.rag.configuration_id == rollback.active.id
    assert rollback.first.decision_id == decision.id


def test_monitor_records_the_failed_paired_test_as_the_rollback_evidence(
    rollback: Rollback,
) -> None:
    decision = rollback.decisions_after_first[-1]
    gates = {g.check: g for g in decision.gate_results}
    regression = gates["regression"]
    assert regression.status == "fail"
    assert regression.evidence["ci_high"] < 0
    assert regression.evidence["paired"] == 40
    assert gates["restored_regression"].status == "pass"
    assert gates["floor"].status == gates["restored_floor"].status == "pass"
    current = rollback.current_run
    assert (current.purpose, current.configuration_id) == ("monitor", rollback.tuned.id)
    assert decision.eval_run_ids[0] == current.id


def test_monitor_asks_a_degraded_model_again_instead_of_reading_the_response_cache(
    rollback: Rollback,
) -> None:
    assert rollback.current_run.extra["cached"] == 0
    assert rollback.current_run.mean < 0.75


def test_monitor_rolls_back_only_once(rollback: Rollback) -> None:
    assert rollback.second.status == "healthy"
    assert rollback.second.decision_id is None and rollback.second.event_id is None
    assert rollback.decisions_after_second == rollback.decisions_after_first


def test_monitor_emits_one_regression_event_with_the_evidence(rollback: Rollback) -> None:
    assert [str(event.id) for event in rollback.events] == [rollback.first.event_id]
    event = rollback.events[0]
    assert event.resource.id == f"phasegate.usecase.{TUNED}"
    assert event.resource.name == TUNED
    assert event.payload["decision_id"] == rollback.first.decision_id
    assert (event.payload["decision"], event.payload["to_phase"]) == ("rolled_back", "rag")
    assert {g["check"]: g["status"] for g in event.payload["gates"]}["regression"] == "fail"


def test_monitor_records_nothing_for_a_healthy_configuration(tiny: Settings) -> None:
    recorded = len(_decisions(tiny))

    outcome = monitor(TUNED)[TUNED]

    assert outcome.status == "healthy"
    assert [g.status for g in outcome.gates] == ["pass", "pass"]
    assert len(_decisions(tiny)) == recorded
    assert _phase(tiny) == "fine_tuning"


def test_monitor_scores_recent_labelled_interactions_with_the_eval_set(tiny: Settings) -> None:
    asked = [
        NewInteraction(client_id=m, input=f"Which port is {m} on?", label=port(m))
        for m in MODULES[:2]
    ] + [NewInteraction(client_id="unlabelled", input=f"Which port is {MODULES[2]} on?")]
    with store_session(tiny.store_url) as session:
        record_interactions(TUNED, asked, session=session)

    outcome = monitor(TUNED)[TUNED]

    with store_session(tiny.store_url) as session:
        run = get_eval_run(outcome.gates[0].evidence["current_eval_run_id"], session=session)
    assert run.n == 42
    assert {"interaction-1", "interaction-2"} <= run.scores().keys()
    assert outcome.gates[0].evidence["paired"] == 40


def test_monitor_holds_and_alerts_when_no_earlier_configuration_is_healthy(
    tiny: Settings, sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    tuned = active_configuration(tiny)
    _degrade(sandbox_server, tuned.model)
    # A floor no configuration reaches: the earlier ones fail it too, so none is restored.
    # (A provider that fails every call is no measurement: see test_measurement.py.) The spec
    # is changed in a copy: its files are shared with the other tests of the session.
    with store_session(tiny.store_url) as session:
        source = Path(require_use_case(TUNED, session=session).spec_path).parent
    shutil.copytree(source, tmp_path / TUNED)
    path = tmp_path / TUNED / "spec.yaml"
    spec = yaml.safe_load(path.read_text())
    for gate in spec["gates"].values():
        gate["floor"] = 0.99
    path.write_text(yaml.safe_dump(spec))
    with store_session(tiny.store_url) as session:
        apply_spec(load_spec(path), session=session)

    outcome = monitor(TUNED)[TUNED]

    decision = _decisions(tiny)[-1]
    assert outcome.status == "regressed"
    assert outcome.event_id is not None
    assert decision.kind == "held"
    assert "no healthy configuration to roll back to" in decision.reason
    assert active_configuration(tiny).id == tuned.id


def test_monitor_rolls_back_past_configurations_that_regressed_too(
    tiny: Settings, sandbox_server: SandboxServer
) -> None:
    tuned = active_configuration(tiny)
    assert check_hybrid(TUNED).decision == "advanced"
    # The hybrid and the tuned model alone share the degraded model: only RAG is healthy.
    _degrade(sandbox_server, tuned.model)

    outcome = monitor(TUNED)[TUNED]

    assert outcome.status == "rolled_back"
    assert active_configuration(tiny).phase == "rag"
    assert monitor(TUNED)[TUNED].status == "healthy"


def test_monitor_without_a_use_case_checks_those_in_rag_or_fine_tuning(
    tiny: Settings, tmp_path: Path
) -> None:
    with store_session(tiny.store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path / "new", name="new-one")), session=session)

    outcomes = monitor()

    assert {name: o.status for name, o in outcomes.items()} == {
        GUARDED: "healthy",
        TUNED: "healthy",
    }


def test_monitor_without_a_use_case_reports_one_that_fails_and_checks_the_others(
    tiny: Settings, tmp_path: Path
) -> None:
    with store_session(tiny.store_url) as session:
        source = Path(require_use_case(GUARDED, session=session).spec_path).parent
    shutil.copytree(source, tmp_path / GUARDED)
    with store_session(tiny.store_url) as session:
        apply_spec(load_spec(tmp_path / GUARDED / "spec.yaml"), session=session)
    (tmp_path / GUARDED / "eval.jsonl").unlink()

    outcomes = monitor()

    assert outcomes[TUNED].status == "healthy"
    assert outcomes[GUARDED].status == "failed"
    assert "data.eval: not found: eval.jsonl" in outcomes[GUARDED].reason


def test_monitor_of_a_use_case_without_configuration_checks_nothing(
    tiny: Settings, tmp_path: Path
) -> None:
    with store_session(tiny.store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path / "new", name="new-one")), session=session)

    outcome = monitor("new-one")["new-one"]

    assert (outcome.status, outcome.reason) == ("unmonitored", "no configuration")


def test_monitor_of_an_unknown_use_case_raises_not_found(tiny: Settings) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nowhere'"):
        monitor("nowhere")


def test_monitor_skips_a_use_case_whose_check_is_running(tiny: Settings) -> None:
    recorded = len(_decisions(tiny))
    with store_session(tiny.store_url) as session:
        acquire_lease(TUNED, "another-run", ttl_seconds=600, session=session)

    outcome = monitor(TUNED)[TUNED]

    assert (outcome.status, outcome.reason) == ("skipped", "check another-run is running")
    assert len(_decisions(tiny)) == recorded


def test_canary_blocks_promotion_of_a_tuned_model_that_forgets(tiny: Settings) -> None:
    outcome = check_phase(GUARDED, auto_approve=True)

    decision = _decisions(tiny, GUARDED)[-1]
    canary = {g.check: g for g in decision.gate_results}["canary"]
    assert outcome.decision == "held"
    assert canary.status == "fail"
    assert canary.evidence["ci_high"] < 0
    assert canary.evidence["paired"] == 12
    assert {g.check: g.status for g in decision.gate_results}["quality_gain"] == "pass"
    assert _phase(tiny, GUARDED) == "rag"


def test_monitor_checks_the_canary_against_the_run_recorded_by_the_phase_check(
    tiny: Settings,
) -> None:
    check_phase(GUARDED, auto_approve=True)

    outcome = monitor(GUARDED)[GUARDED]

    canary = {g.check: g for g in outcome.gates}["canary_regression"]
    assert outcome.status == "healthy"
    assert canary.status == "pass"
    assert canary.evidence["paired"] == 12
