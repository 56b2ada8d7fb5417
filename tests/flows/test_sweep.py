"""The sweep never waits on a person: a check that needs approval is handed over, or held."""

from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

from flows.phase_check import check_phase
from flows.sweep import sweep
from state.approvals import pending_approvals
from state.db import store_session
from state.decisions import list_decisions
from state.phases import GateStatus
from tests.flows.journey import USE_CASE, Journey


@pytest.fixture(name="check_deployment")
def check_deployment_fixture(flows_api: None) -> Iterator[UUID]:
    """The phase-check deployment on the session's Prefect API (no worker runs it)."""
    deployment_id = check_phase.to_deployment(name="phase-check").apply()
    yield deployment_id
    with get_client(sync_client=True) as client:
        for run in _runs_of(deployment_id):
            client.delete_flow_run(run.id)
        client.delete_deployment(deployment_id)


def _runs_of(deployment_id: UUID) -> list:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


def _decisions(journey: Journey) -> list:
    with store_session(journey.store_url) as session:
        return list_decisions(USE_CASE, session=session)


def _pending(journey: Journey) -> list:
    with store_session(journey.store_url) as session:
        return pending_approvals(session=session, use_case=USE_CASE)


@pytest.mark.prefect
def test_sweep_hands_a_check_that_needs_approval_to_a_run_of_its_own(
    journey_from: Callable[..., Journey], check_deployment: UUID
) -> None:
    journey = journey_from("rag")
    before = _decisions(journey)
    outcomes = sweep()
    assert outcomes[USE_CASE] == "Awaiting Approval"
    assert _decisions(journey) == before
    assert _pending(journey) == []
    assert journey.use_case().active_phase == "rag"
    (run,) = _runs_of(check_deployment)
    assert run.parameters == {"use_case": USE_CASE}
    assert run.state.is_scheduled()


@pytest.mark.prefect
def test_sweep_without_the_deployment_holds_with_how_to_ask(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("rag")
    outcomes = sweep()
    assert outcomes[USE_CASE] == "Held"
    held = _decisions(journey)[-1]
    assert (held.kind, held.from_phase, held.to_phase) == ("held", "rag", "fine_tuning")
    assert f"phasegate check {USE_CASE}" in held.reason
    assert all(g.status == GateStatus.PASS for g in held.gate_results)
    assert _pending(journey) == []
    assert journey.use_case().active_phase == "rag"
