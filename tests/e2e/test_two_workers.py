"""Two process workers, the store and Prefect on PostgreSQL: checks spread, and decide once.

Real processes: `prefect server start`, `prefect deploy --all` and two workers (phasegate/serve.py),
a sandbox of this module's own (its latency is changed mid-test), and Phasegate's real event
emitter. Two copies of support-qa move prompting → RAG, one per test.
"""

import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, text

from flows.phase_check import check_phase
from phasegate import processes
from phasegate.serve import LocalPrefect
from phasegate.webhook_emit import CHECK_REQUESTED, prefect_emitter
from sandbox import SandboxConfig
from state.settings import get_settings
from state.spec import load_spec
from state.store_api import Store
from tests.e2e.prefect_http import RetryBusyTransport, wait_for
from tests.plugins.sandbox_server import _serve

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SPREAD, TAKEOVER = "spread-qa", "takeover-qa"
DEPLOYMENT = "check-phase/phase-check"
LEASE_TTL_SECONDS = 6
REQUESTS = 10
RUNS_FINISHED_SECONDS = 300
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
STARTED = datetime.now(UTC)


def _spec_copy(directory: Path, name: str) -> Path:
    """support-qa under another name, switching at once, with nothing to gain past RAG."""
    shutil.copytree(ROOT / "usecases" / "support-qa", directory / name)
    path = directory / name / "spec.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["name"] = name
    spec["rollout"] = {"steps": []}
    # RAG meets this target and no usage is reported: a later check holds at once.
    spec["gates"]["rag_to_fine_tuning"] |= {"target": 0.05, "floor": 0.0}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(name="postgres", scope="module")
def postgres_fixture() -> Iterator[tuple[str, str]]:
    """Fresh PostgreSQL databases: Phasegate's store and Prefect's own; skips without a server."""
    from tests.conftest import _postgres_admin_url

    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.skip("PostgreSQL not configured: set PHASEGATE_TEST_POSTGRES_URL (.ci/run does)")
    names = [f"pg_workers_{uuid.uuid4().hex[:10]}", f"pg_prefect_{uuid.uuid4().hex[:10]}"]
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0]
    store, prefect = (f"{base}/{name}" for name in names)
    yield store, prefect.replace("postgresql://", "postgresql+asyncpg://", 1)
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(name="stack", scope="module")
def stack_fixture(
    tmp_path_factory: pytest.TempPathFactory, postgres: tuple[str, str]
) -> Iterator[LocalPrefect]:
    """A Prefect server, the deployments and two workers; both use cases baselined."""
    postgres_store, prefect_database = postgres
    tmp = tmp_path_factory.mktemp("two-workers")
    sandbox = _serve(SandboxConfig(job_seconds=0.3))
    provider = next(sandbox)
    phasegate_env = {
        "PHASEGATE_DATA_DIR": str(tmp / "data"),
        "PHASEGATE_DATABASE_URL": postgres_store,
        "PHASEGATE_BASE_URL": provider.url,
        "PHASEGATE_LEASE_TTL_SECONDS": str(LEASE_TTL_SECONDS),
    }
    with pytest.MonkeyPatch.context() as env:
        for key, value in phasegate_env.items():
            env.setenv(key, value)
        get_settings.cache_clear()
        store = Store(postgres_store)
        store.apply_specs([load_spec(_spec_copy(tmp, name)) for name in (SPREAD, TAKEOVER)])
        stack = LocalPrefect.start(
            log_dir=tmp / "logs",
            env={
                **phasegate_env,
                "PREFECT_HOME": str(tmp / "prefect"),
                # Prefect's own database on PostgreSQL too: SQLite stalled the API under ten
                # concurrent runs on two busy cores.
                "PREFECT_API_DATABASE_CONNECTION_URL": prefect_database,
                "PREFECT_LOGGING_LEVEL": "WARNING",
                "PREFECT_WORKER_QUERY_SECONDS": "1",
                "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            },
        )
        try:
            deploying = stack.launch(workers=2, worker_limit=4)
            with temporary_settings({PREFECT_API_URL: stack.api_url}):
                for name in (SPREAD, TAKEOVER):
                    assert check_phase(name, return_state=True).name == "Baselined"
                EventsWorker.drain_all(timeout=10)
            stack.wait_ready(deploying)
            stack.provider = provider  # type: ignore[attr-defined]
            stack.store = store  # type: ignore[attr-defined]
            yield stack
        finally:
            stack.stop()
            next(sandbox, None)
    get_settings.cache_clear()


def _request_checks(stack: LocalPrefect, use_case: str, times: int) -> None:
    emit = prefect_emitter()
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        for _ in range(times):
            emit(CHECK_REQUESTED, use_case, {"use_case": use_case, "requested_by": "e2e"})


def _runs(api: httpx.Client, use_case: str) -> list[dict]:
    """The phase-check deployment's runs for `use_case` (tags come later, as a run starts)."""
    deployment = api.get(f"/deployments/name/{DEPLOYMENT}").raise_for_status().json()
    query = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}, "limit": 200}
    runs = api.post("/flow_runs/filter", json=query).raise_for_status().json()
    return [run for run in runs if run["parameters"].get("use_case") == use_case]


def _finished(api: httpx.Client, use_case: str, count: int) -> list[dict] | None:
    runs = _runs(api, use_case)
    done = [run for run in runs if run["state"]["type"] in FINAL]
    return done if len(runs) >= count and len(done) == len(runs) else None


def _submitted_by(api: httpx.Client) -> dict[str, str]:
    """Which worker submitted each flow run, from the workers' own Prefect events."""
    query = {
        "filter": {
            "event": {"name": ["prefect.worker.submitted-flow-run"]},
            "occurred": {"since": STARTED.isoformat()},
        },
        "limit": 50,
    }
    events = api.post("/events/filter", json=query).raise_for_status().json()["events"]
    return {
        related["prefect.resource.id"].removeprefix("prefect.flow-run."): event["resource"][
            "prefect.resource.name"
        ]
        for event in events
        for related in event["related"]
        if related.get("prefect.resource.role") == "flow-run"
    }


def _decisions(stack: LocalPrefect, use_case: str) -> list[str]:
    return [d.kind for d in stack.store.list_decisions(use_case)]  # type: ignore[attr-defined]


def test_ten_requests_for_one_use_case_make_one_transition_on_both_workers(
    stack: LocalPrefect,
) -> None:
    _request_checks(stack, SPREAD, REQUESTS)
    with httpx.Client(base_url=stack.api_url, timeout=60, transport=RetryBusyTransport()) as api:
        runs = wait_for(
            lambda: _finished(api, SPREAD, REQUESTS), RUNS_FINISHED_SECONDS, "ten finished runs"
        )
        workers = wait_for(
            lambda: (
                {w for r, w in _submitted_by(api).items() if r in {x["id"] for x in runs}}
                if len(_submitted_by(api).keys() & {x["id"] for x in runs}) == len(runs)
                else None
            ),
            30,
            "the workers' submitted-flow-run events",
        )
    assert len(runs) == REQUESTS
    assert {run["state"]["type"] for run in runs} == {"COMPLETED"}
    decisions = _decisions(stack, SPREAD)
    assert decisions.count("advanced") == 1
    assert set(decisions) <= {"baselined", "advanced", "skipped", "held"}
    assert stack.store.require_use_case(SPREAD).active_phase == "rag"  # type: ignore[attr-defined]
    assert workers == set(stack.worker_names)


def test_a_check_whose_worker_is_killed_is_taken_over_and_decided_once(
    stack: LocalPrefect,
) -> None:
    provider = stack.provider  # type: ignore[attr-defined]
    store: Store = stack.store  # type: ignore[attr-defined]
    provider.admin("POST", "/sandbox/faults", {"latency_ms": 400})  # a check that takes a while
    _request_checks(stack, TAKEOVER, 1)

    def held_lease():
        leases, _ = store.leases_and_breaks()
        return next((lease for lease in leases if lease.use_case == TAKEOVER), None)

    lease = wait_for(held_lease, RUNS_FINISHED_SECONDS, "a check holding the lease")
    with httpx.Client(base_url=stack.api_url, timeout=60, transport=RetryBusyTransport()) as api:
        worker = wait_for(lambda: _submitted_by(api).get(lease.flow_run_id), 30, "the run's worker")
        number = stack.worker_names.index(worker) + 1
        (child,) = [c for c in stack.children if c.name == f"prefect-worker-{number}"]
        doomed = [child.pid, *processes.descendants(child.pid)]
        for pid in doomed:
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: not any(processes.alive(p) for p in doomed), 10, "the kill")
        provider.admin("POST", "/sandbox/faults", {"latency_ms": 0})
        assert _decisions(stack, TAKEOVER) == ["baselined"]
        # No heartbeat renews the dead check's lease; wait until it has run out.
        wait_for(
            lambda: held_lease().expires_at.replace(tzinfo=UTC) < datetime.now(UTC),
            LEASE_TTL_SECONDS * 5,
            "the dead check's lease to run out",
        )
        _request_checks(stack, TAKEOVER, 1)
        runs = wait_for(
            lambda: _finished(api, TAKEOVER, 2), RUNS_FINISHED_SECONDS, "both runs to end"
        )
        states = {run["id"]: run["state"] for run in runs}
    assert states[lease.flow_run_id]["type"] == "CRASHED"
    (survivor,) = [state for run_id, state in states.items() if run_id != lease.flow_run_id]
    assert (survivor["type"], survivor["name"]) == ("COMPLETED", "Advanced")
    assert _decisions(stack, TAKEOVER) == ["baselined", "advanced"]
