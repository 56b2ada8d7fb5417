"""Fixtures for flow tests: the example use cases on real stores, checked through real flow runs.

One journey per store backend is built once per session (prompting → RAG → fine-tuning, the
last move approved through the Prefect API); tests read what it recorded, or start from a copy
of the store as it was after one of its steps.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from state.domain import Approval
from state.settings import Settings, get_settings
from tasks.approvals import give_answer
from tests.flows.checks import Approver, JourneyRecord, run_check, start_from
from tests.flows.journey import (
    APPROVER,
    Journey,
    copy_use_cases,
    gate_reports,
    point_settings_at,
    register,
)
from tests.flows.rejection import rejection_fixture  # noqa: F401  (shared by two modules)
from tests.flows.stores import Stores
from tests.flows.tiny_usecase import start_tiny
from tests.plugins.sandbox_server import SandboxServer


@pytest.fixture(name="flows_api", scope="session")
def flows_api_fixture(prefect_api: None) -> Iterator[None]:
    """The session's Prefect API, without the ≈ 1 s each sync flow run spends on heartbeats."""
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture(name="backend", scope="session", params=["sqlite", "postgresql"])
def backend_fixture(request: pytest.FixtureRequest) -> str:
    """The store backend of a flow test."""
    return request.param


@pytest.fixture(name="stores", scope="session")
def stores_fixture(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """New stores and copies of stores on the backend under test."""
    stores = Stores(backend, tmp_path_factory.mktemp(f"stores-{backend}"))
    yield stores
    stores.close()


@pytest.fixture(name="journey_record", scope="session")
def journey_record_fixture(
    flows_api: None,
    stores: Stores,
    sandbox_server: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> JourneyRecord:
    """The whole journey of support-qa, run once per backend; copies of its store per step."""
    root = tmp_path_factory.mktemp("journey")
    journey = Journey(stores.new(), copy_use_cases(root / "usecases"), sandbox_server)
    register(journey.store_url, journey.specs_dir)
    sandbox_server.reset()
    steps, snapshots = {}, {}
    paused_reports: list[str] = []

    def approve(approval: Approval) -> None:
        paused_reports.extend(gate_reports(approval.flow_run_id))
        give_answer(approval.flow_run_id, **APPROVER)

    approver = Approver(journey.store_url, approve)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            point_settings_at(monkeypatch, journey)
            steps["baselined"] = run_check(journey)
            snapshots["baselined"] = stores.copy(journey.store_url)
            steps["rag"] = run_check(journey)
            snapshots["rag"] = stores.copy(journey.store_url)
            approver.start()
            steps["fine_tuning"] = run_check(journey)
            approval = approver.join()
            snapshots["fine_tuning"] = stores.copy(journey.store_url)
            steps["last"] = run_check(journey)
    finally:
        get_settings.cache_clear()
    return JourneyRecord(journey, steps, approval, paused_reports, snapshots)


@pytest.fixture(name="journey_from")
def journey_from_fixture(
    journey_record: JourneyRecord,
    stores: Stores,
    sandbox_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Journey]:
    """Start a test from a copy of the journey's store after a step (see `start_from`)."""

    def start(step: str, **support_qa_spec: object) -> Journey:
        return start_from(journey_record, stores, step, monkeypatch, tmp_path, **support_qa_spec)

    return start


@pytest.fixture(name="tiny")
def tiny_fixture(
    prefect_api: None,
    settings: Settings,
    sandbox_server: SandboxServer,
    sandbox_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """Settings on a copy of the tiny journey's store; flow runs without heartbeats."""
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield start_tiny(settings, sandbox_server, tmp_path_factory, monkeypatch)
