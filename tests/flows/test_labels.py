"""Flow runs are named and tagged after their work, as the Prefect API reads them back."""

import re
import uuid
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun
from prefect.states import State

from flows.hybrid import check_hybrid
from flows.monitoring import monitor, monitor_use_case
from flows.phase_check import check_phase
from flows.rag import build_rag
from flows.sweep import sweep
from state.configurations import save_configuration
from state.db import store_session
from state.decisions import record_decision
from state.domain import ConfigurationDraft, DecisionDraft
from state.leases import acquire_lease
from state.phases import DecisionKind, Phase
from state.settings import Settings
from state.spec import load_spec
from state.use_cases import apply_spec
from tests.flows.checks import JourneyRecord
from tests.specs import write_spec

NAME = "demo-qa"
DAY = r"\d{4}-\d\d-\d\d"


def _flow_run(state: State) -> FlowRun:
    """The flow run behind a returned state, as the Prefect API holds it."""
    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def _register(settings: Settings, directory: Path, phase: Phase | None) -> None:
    """Register demo-qa; with `phase`, move it there through store functions (no provider)."""
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(write_spec(directory, name=NAME)), session=session)
        if phase is None:
            return
        config = save_configuration(
            NAME, ConfigurationDraft(phase=phase, model="sandbox-base"), session=session
        )
        draft = DecisionDraft(
            kind=DecisionKind.ADVANCED, to_phase=phase, configuration_id=config.id
        )
        record_decision(NAME, draft, expected_version=1, session=session)


def _hold_lease(settings: Settings) -> None:
    """Another check holds demo-qa: the flows under test record `skipped` and stop."""
    with store_session(settings.store_url) as session:
        taken = acquire_lease(NAME, str(uuid.uuid4()), ttl_seconds=600, session=session)
    assert taken.holder is None


@pytest.fixture(name="in_rag")
def in_rag_fixture(flows_api: None, settings: Settings, tmp_path: Path) -> Settings:
    """demo-qa active in RAG, its lease held by another check."""
    _register(settings, tmp_path / "specs", Phase.RAG)
    _hold_lease(settings)
    return settings


@pytest.mark.prefect
def test_check_run_is_named_after_its_move_and_tagged(in_rag: Settings) -> None:
    run = _flow_run(check_phase(NAME, return_state=True))
    assert run.name == "demo-qa · rag→fine_tuning"
    assert set(run.tags) == {"use-case:demo-qa", "phase:rag", "to-phase:fine_tuning"}


@pytest.mark.prefect
def test_check_of_a_new_use_case_is_named_baseline(
    flows_api: None, settings: Settings, tmp_path: Path
) -> None:
    _register(settings, tmp_path / "specs", None)
    _hold_lease(settings)
    run = _flow_run(check_phase(NAME, return_state=True))
    assert run.name == "demo-qa · baseline"
    assert set(run.tags) == {"use-case:demo-qa", "phase:prompting", "baseline"}


@pytest.mark.prefect
def test_check_of_an_unknown_use_case_keeps_a_name_and_fails_on_its_own_error(
    flows_api: None, settings: Settings
) -> None:
    state = check_phase("nobody", return_state=True)
    assert state.is_failed()
    assert "nobody" in str(state.message)
    run = _flow_run(state)
    assert (run.name, run.tags) == ("nobody · check", ["use-case:nobody"])


@pytest.mark.prefect
def test_monitor_runs_are_named_after_the_use_case_and_its_phase(in_rag: Settings) -> None:
    run = _flow_run(monitor_use_case(NAME, return_state=True))
    assert run.name == "demo-qa · monitor rag"
    assert set(run.tags) == {"use-case:demo-qa", "phase:rag", "monitor"}
    parent = _flow_run(monitor(NAME, return_state=True))
    assert parent.name == "monitor demo-qa"
    assert set(parent.tags) == {"monitor", "use-case:demo-qa"}


@pytest.mark.prefect
def test_hybrid_run_is_named_and_tagged(in_rag: Settings) -> None:
    run = _flow_run(check_hybrid(NAME, return_state=True))
    assert run.name == "demo-qa · hybrid"
    assert set(run.tags) == {"use-case:demo-qa", "phase:fine_tuning", "hybrid"}


@pytest.mark.prefect
def test_build_run_is_named_after_its_phase_even_when_it_fails(in_rag: Settings) -> None:
    state = build_rag(NAME, return_state=True)  # demo-qa has no documents: a SpecError
    assert state.is_failed()
    run = _flow_run(state)
    assert run.name == "demo-qa · build rag"
    assert set(run.tags) == {"use-case:demo-qa", "phase:rag", "build"}


@pytest.mark.prefect
def test_sweep_and_monitor_of_everything_are_named_after_the_time(
    flows_api: None, settings: Settings
) -> None:
    swept = _flow_run(sweep(return_state=True))
    assert re.fullmatch(f"sweep {DAY}", swept.name), swept.name
    assert swept.tags == ["sweep"]
    monitored = _flow_run(monitor(return_state=True))
    assert re.fullmatch(rf"monitor {DAY} \d\d:\d\d", monitored.name), monitored.name
    assert monitored.tags == ["monitor"]


@pytest.mark.prefect
def test_the_journey_runs_are_found_by_name_and_tags(journey_record: JourneyRecord) -> None:
    """The fine-tuning check of support-qa and its build subflow, as the UI's filter finds them."""
    check = journey_record.steps["fine_tuning"].flow_run_id
    with get_client(sync_client=True) as client:
        found = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=["use-case:support-qa", "phase:rag"])
            ),
            limit=50,
        )
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[uuid.UUID(check)])
            ),
            limit=50,
        )
    by_id = {str(run.id): run.name for run in found}
    assert by_id[check] == "support-qa · rag→fine_tuning"
    assert "support-qa · build fine_tuning" in [run.name for run in children]
