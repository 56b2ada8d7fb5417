"""Fixtures for flow tests: the example use cases on real stores, checked through real flow runs.

One journey per store backend is built once per session (prompting → RAG → fine-tuning, the
last move approved through the Prefect API); tests read what it recorded, or start from a copy
of the store as it was after one of its steps.
"""

import contextvars
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.client.schemas.sorting import ArtifactSort
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import State
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from flows.phase_check import check_phase
from state.approvals import Approval, pending_approvals
from state.db import engine_for, store_session
from state.domain import Configuration, Decision, UseCase
from state.models import ActivationRecord, ApprovalRecord, CheckLeaseRecord
from state.settings import Settings, get_settings
from state.spec import find_spec_files, load_spec
from state.store import apply_spec, get_configuration, get_decision_by_run, require_use_case
from state.usage import UsageCount, record_usage_many
from tasks.approvals import give_answer
from tests.flows.tiny_usecase import start_tiny
from tests.plugins.sandbox_server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
USE_CASE = "support-qa"
#: 30 days × 300 queries = 9,000 a month, above the 5,000 break-even of rag_to_fine_tuning.
DAILY_QUERIES = 300
#: Bounds a broken approval test to two minutes instead of the spec's hour.
APPROVAL_TIMEOUT = 120
APPROVER = {"approve": True, "reason": "gain is clear; cost recovered in weeks", "approver": "ana"}


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


def in_thread(target: Callable[[], None]) -> threading.Thread:
    """Start `target` in a thread that sees this thread's Prefect settings (a copied context)."""
    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,), daemon=True)
    thread.start()
    return thread


class Stores:
    """Store databases of one backend for the session: new ones, and copies of others."""

    def __init__(self, backend: str, directory: Path) -> None:
        """Make stores of `backend` ("sqlite" or "postgresql"); SQLite files go in `directory`."""
        self.backend, self.directory = backend, directory
        self._created: list[str] = []
        self._admin: Engine | None = None
        if backend == "postgresql":
            self._admin, self._server = self._postgres_admin()

    @staticmethod
    def _postgres_admin() -> tuple[Engine, str]:
        url = os.environ.get("PHASEGATE_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("PostgreSQL not configured: set PHASEGATE_TEST_POSTGRES_URL (.ci/run does)")
        admin = create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        try:
            with admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - a missing server becomes a skip with its reason
            admin.dispose()
            pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
        return admin, url.rsplit("/", 1)[0]

    def _create(self, template: str | None) -> str:
        name = f"pg_flow_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self._created.append(name)
        return f"{self._server}/{name}"

    def new(self) -> str:
        """The URL of a new, empty store."""
        if self._admin is not None:
            return self._create(None)
        return f"sqlite:///{self.directory / f'store-{uuid.uuid4().hex[:10]}.db'}"

    def copy(self, source: str) -> str:
        """The URL of a new store holding what `source` holds now."""
        if self._admin is not None:
            # A template database must have no open connections.
            engine_for(source).dispose()
            return self._create(source)
        target = self.new()
        with (
            closing(sqlite3.connect(source.removeprefix("sqlite:///"))) as src,
            closing(sqlite3.connect(target.removeprefix("sqlite:///"))) as dst,
        ):
            src.backup(dst)
        return target

    def close(self) -> None:
        """Drop the PostgreSQL databases made for the session."""
        if self._admin is None:
            return
        with self._admin.connect() as connection:
            for name in self._created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@dataclass(frozen=True)
class Journey:
    """Where a flow test's use cases live: the store, their spec files, the sandbox."""

    store_url: str
    specs_dir: Path
    sandbox: SandboxServer

    def env(self) -> dict[str, str]:
        """The `PHASEGATE_*` variables a process needs to run checks on this store."""
        return {
            "PHASEGATE_DATA_DIR": str(self.specs_dir.parent / "data"),
            "PHASEGATE_DATABASE_URL": self.store_url,
            "PHASEGATE_BASE_URL": self.sandbox.url,
        }

    def use_case(self) -> UseCase:
        """The support-qa use case as stored now."""
        with store_session(self.store_url) as session:
            return require_use_case(USE_CASE, session=session)


def copy_use_cases(target: Path, **support_qa_spec: object) -> Path:
    """Copy the example use cases into `target`, overriding top-level fields of support-qa."""
    for source in (ROOT / "usecases").iterdir():
        if source.is_dir():
            shutil.copytree(source, target / source.name)
    path = target / USE_CASE / "spec.yaml"
    spec = yaml.safe_load(path.read_text()) | {"approval": {"timeout_seconds": APPROVAL_TIMEOUT}}
    path.write_text(yaml.safe_dump(spec | support_qa_spec, sort_keys=False))
    return target


def register(store_url: str, specs_dir: Path) -> None:
    """Apply every spec under `specs_dir` and report 30 days of support-qa usage."""
    today = datetime.now(UTC).date()
    counts = [
        UsageCount(USE_CASE, today - timedelta(days=day), DAILY_QUERIES, "default")
        for day in range(30)
    ]
    with store_session(store_url) as session:
        for path in find_spec_files([specs_dir]):
            apply_spec(load_spec(path), session=session)
        record_usage_many(counts, session=session)


def point_settings_at(monkeypatch: pytest.MonkeyPatch, journey: Journey) -> None:
    """Make the settings that flows read name the journey's store and sandbox."""
    for key in list(os.environ):
        if key.startswith("PHASEGATE_"):
            monkeypatch.delenv(key)
    for key, value in journey.env().items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


def gate_reports(flow_run_id: str) -> list[str]:
    """The gate-report artifacts one check run published, oldest first (read from Prefect)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[f"gate-report-{USE_CASE}"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)]),
            ),
            sort=ArtifactSort.CREATED_DESC,
        )
    return [artifact.data for artifact in reversed(found)]


def approval_row(store_url: str, flow_run_id: str) -> dict[str, Any] | None:
    """The approval a check requested, as stored (no store function reads answered ones)."""
    with store_session(store_url) as session:
        row = session.exec(
            select(ApprovalRecord).where(ApprovalRecord.flow_run_id == flow_run_id)
        ).first()
        return row.model_dump() if row else None


def activations(store_url: str) -> list[tuple[int, int | None, str]]:
    """The activation history: (decision id, configuration id, phase), oldest first."""
    with store_session(store_url) as session:
        rows = session.exec(select(ActivationRecord).order_by(col(ActivationRecord.id))).all()
        return [(row.decision_id, row.configuration_id, row.phase) for row in rows]


def leases(store_url: str) -> list[str]:
    """The flow run ids holding check leases now."""
    with store_session(store_url) as session:
        return [row.flow_run_id for row in session.exec(select(CheckLeaseRecord)).all()]


def flow_run_state(flow_run_id: str) -> State:
    """The current state of a flow run, as the Prefect API reports it."""
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id)).state


@dataclass
class Approver:
    """A person in another thread: waits until the check is paused for approval, then responds.

    `respond` gets the pending approval; it may look at the paused run or try bad answers
    before it answers through the Prefect API, as the UI form does.
    """

    store_url: str
    respond: Callable[[Approval], None]
    seen: Approval | None = None
    error: BaseException | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def _pending(self) -> Approval | None:
        with store_session(self.store_url) as session:
            found = pending_approvals(session=session, use_case=USE_CASE)
        return found[0] if found else None

    def _run(self) -> None:
        try:
            self.seen = wait_until(self._pending, 90, "an approval request")
            wait_until(lambda: flow_run_state(self.seen.flow_run_id).is_paused(), 30, "the pause")
            self.respond(self.seen)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread by join()
            self.error = exc

    def start(self) -> "Approver":
        """Start waiting in a background thread."""
        self._thread = in_thread(self._run)
        return self

    def join(self) -> Approval:
        """Wait for the thread; re-raise what failed in it; return the approval it answered."""
        self._thread.join(timeout=120)
        if self.error is not None:
            raise self.error
        assert self.seen is not None
        return self.seen


@dataclass(frozen=True)
class Step:
    """One check of the journey, as the store and Prefect showed it right after it ended."""

    state: State
    flow_run_id: str
    decision: Decision | None
    use_case: UseCase
    active: Configuration | None
    reports: list[str]


def run_check(journey: Journey, **options: Any) -> Step:
    """Run the phase check of support-qa as a real flow run and read what it left."""
    state = check_phase(USE_CASE, approval_poll_seconds=1, return_state=True, **options)
    run_id = str(state.state_details.flow_run_id)
    with store_session(journey.store_url) as session:
        decision = get_decision_by_run(run_id, session=session)
        use_case = require_use_case(USE_CASE, session=session)
        active = (
            get_configuration(use_case.active_configuration_id, session=session)
            if use_case.active_configuration_id
            else None
        )
    return Step(state, run_id, decision, use_case, active, gate_reports(run_id))


@dataclass(frozen=True)
class JourneyRecord:
    """support-qa taken from nothing to fine-tuning, with what each check left behind."""

    journey: Journey
    steps: dict[str, Step]
    approval: Approval
    reports_while_paused: list[str]
    snapshots: dict[str, str]


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
            steps["last"] = run_check(journey)
    finally:
        get_settings.cache_clear()
    return JourneyRecord(journey, steps, approval, paused_reports, snapshots)


def start_from(
    record: JourneyRecord,
    stores: Stores,
    step: str,
    monkeypatch: pytest.MonkeyPatch,
    directory: Path,
    **support_qa_spec: object,
) -> Journey:
    """A copy of the journey's store as it was after `step`, with the settings pointing at it.

    Keyword arguments override top-level fields of support-qa's spec (re-applied on the copy).
    """
    journey = Journey(
        stores.copy(record.snapshots[step]), record.journey.specs_dir, record.journey.sandbox
    )
    if support_qa_spec:
        specs_dir = copy_use_cases(directory / "usecases", **support_qa_spec)
        register(journey.store_url, specs_dir)
        journey = Journey(journey.store_url, specs_dir, journey.sandbox)
    journey.sandbox.reset()
    point_settings_at(monkeypatch, journey)
    return journey


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
