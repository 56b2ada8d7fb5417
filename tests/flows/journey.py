"""Where flow tests' use cases live, and what their check runs left in the store and Prefect."""

import contextvars
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from prefect.states import State
from sqlmodel import col, select

from state.db import store_session
from state.domain import UsageCount, UseCase
from state.models import ActivationRecord, ApprovalRecord, CheckLeaseRecord
from state.settings import get_settings
from state.spec import find_spec_files, load_spec
from state.usage import record_usage_many
from state.use_cases import apply_spec, require_use_case
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


LOADED_BUDGET_MS = 60_000


def copy_use_cases(target: Path, **support_qa_spec: object) -> Path:
    """Copy the example use cases into `target`, overriding top-level fields of support-qa."""
    for source in (ROOT / "usecases").iterdir():
        if source.is_dir():
            shutil.copytree(source, target / source.name)
    path = target / USE_CASE / "spec.yaml"
    spec = yaml.safe_load(path.read_text()) | {"approval": {"timeout_seconds": APPROVAL_TIMEOUT}}
    # A shared test machine can slow the in-process sandbox's p95 tenfold, and the latency gate
    # passes only when its whole interval is within budget: these journeys test the flow, not
    # the machine (the gate's own tests set their budgets).
    spec["constraints"] = spec["constraints"] | {"latency_p95_ms": LOADED_BUDGET_MS}
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
