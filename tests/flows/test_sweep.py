"""The sweep never waits on a person, and with the phase-check deployment it spreads.

With the deployment, idle use cases are held inside the sweep and each other one gets a run
of the deployment; without it, the checks run in turn and one that needs approval is held.
"""

from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowFilter,
    FlowFilterName,
)

from flows.phase_check import check_phase
from flows.sweep import sweep
from state.approvals import pending_approvals
from state.db import store_session
from state.decisions import list_decisions
from state.leases import acquire_lease, release_lease
from state.phases import GateStatus
from tests.flows.journey import USE_CASE, Journey

OTHER = "feedback-triage"  # registered by the journey, never checked: it needs its baseline
# support-qa on RAG without training data: the fine-tuning entry is not possible, so idle.
NO_TRAINING = {"eval": "eval.jsonl", "documents": "docs"}


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


def _check_runs() -> int:
    """Flow runs of the check on the Prefect API: subflows and deployment runs alike."""
    with get_client(sync_client=True) as client:
        return client.count_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["check-phase"]))
        )


def _started(deployment_id: UUID) -> dict[str, dict]:
    """The scheduled runs of the deployment, by use case: their parameters."""
    runs = _runs_of(deployment_id)
    assert all(run.state.is_scheduled() for run in runs)
    return {run.parameters["use_case"]: run.parameters for run in runs}


@pytest.mark.prefect
def test_a_check_that_does_not_wait_hands_approval_to_a_run_of_its_own(
    journey_from: Callable[..., Journey], check_deployment: UUID
) -> None:
    journey = journey_from("rag")
    before = _decisions(journey)
    state = check_phase(USE_CASE, wait_for_approval=False, return_state=True)
    assert state.name == "Awaiting Approval"
    assert _decisions(journey) == before
    assert _pending(journey) == []
    assert journey.use_case().active_phase == "rag"
    (run,) = _runs_of(check_deployment)
    assert run.parameters == {"use_case": USE_CASE}
    assert run.state.is_scheduled()


@pytest.mark.prefect
def test_sweep_with_the_deployment_starts_runs_only_for_use_cases_that_need_a_look(
    journey_from: Callable[..., Journey], check_deployment: UUID
) -> None:
    journey = journey_from("rag")  # support-qa: the fine-tuning entry is met
    runs, before = _check_runs(), _decisions(journey)
    outcomes = sweep(auto_approve=True)
    assert outcomes == {USE_CASE: "Started", OTHER: "Started"}
    assert _check_runs() == runs + 2
    assert _started(check_deployment) == {
        name: {"use_case": name, "auto_approve": True} for name in (USE_CASE, OTHER)
    }
    assert _decisions(journey) == before
    assert journey.use_case().active_phase == "rag"


@pytest.mark.prefect
def test_sweep_holds_an_idle_use_case_as_its_check_would_without_a_flow_run(
    journey_from: Callable[..., Journey], check_deployment: UUID
) -> None:
    journey = journey_from("rag", data=NO_TRAINING)
    runs, calls = _check_runs(), journey.sandbox.stats()["chat_completions"]
    swept = sweep(return_state=True)
    outcomes = swept.result()
    assert outcomes == {USE_CASE: "Held", OTHER: "Started"}
    assert _check_runs() == runs + 1
    assert set(_started(check_deployment)) == {OTHER}
    assert journey.sandbox.stats()["chat_completions"] == calls
    held = _decisions(journey)[-1]
    assert (held.kind, held.from_phase, held.to_phase) == ("held", "rag", "fine_tuning")
    # A decision per run id (the store's idempotency): each use case the sweep holds gets an id
    # of its own, or every one after the first would get the first one's decision back.
    assert held.flow_run_id not in (None, str(swept.state_details.flow_run_id))
    assert journey.use_case().active_phase == "rag"
    # The check itself, run now, records the same decision from the same evidence.
    assert check_phase(USE_CASE, wait_for_approval=False, return_state=True).name == "Held"
    checked = _decisions(journey)[-1]
    assert checked.id != held.id and checked.flow_run_id != held.flow_run_id
    assert _same(checked) == _same(held)
    assert "0 clean training examples" in held.reason


def _same(decision) -> tuple:
    """What two equal decisions share: kind, phases, reason, configuration, evidence."""
    gates = [(g.check, g.stage, g.status, g.detail) for g in decision.gate_results]
    return (
        decision.kind,
        decision.from_phase,
        decision.to_phase,
        decision.reason,
        decision.configuration_id,
        decision.eval_run_ids,
        gates,
    )


@pytest.mark.prefect
def test_sweep_leaves_a_use_case_it_cannot_decide_to_a_run_of_its_own(
    journey_from: Callable[..., Journey], check_deployment: UUID
) -> None:
    journey = journey_from("rag", data=NO_TRAINING)
    before = _decisions(journey)
    # Another check holds support-qa's lease: its own run records `skipped` or checks later.
    with store_session(journey.store_url) as session:
        taken = acquire_lease(USE_CASE, "another-check", ttl_seconds=600, session=session)
    assert taken.holder is None
    assert sweep()[USE_CASE] == "Started"
    with store_session(journey.store_url) as session:
        release_lease(USE_CASE, "another-check", session=session)
    # Its eval file is gone: its own run fails saying so; the sweep records nothing for it.
    (journey.specs_dir / USE_CASE / "eval.jsonl").unlink()
    assert sweep()[USE_CASE] == "Started"
    started = [run.parameters["use_case"] for run in _runs_of(check_deployment)]
    assert started.count(USE_CASE) == 2
    assert _decisions(journey) == before


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
