"""End to end: a deployed check suspends while its batch runs; the webhook or the poller resumes it.

Real processes: `prefect server start`, `prefect deploy --all` and a process worker
(phasegate/serve.py). In this process's threads: the sandbox (its Batch API and signed
webhooks) and the webhook API, on the Prefect API of that server. One SQLite store for all.
"""

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.batch_poller import poll_batches
from phasegate.serve import LocalPrefect
from phasegate.webhooks import create_app
from state.settings import get_settings
from state.spec import load_spec
from state.store_api import Store
from tests.e2e.conftest import SECRET
from tests.e2e.prefect_http import RetryBusyTransport, wait_for
from tests.flows.tiny_usecase import write_use_case
from tests.plugins.sandbox_server import SandboxServer, dead_url

pytestmark = pytest.mark.prefect

DEPLOYMENT = "check-phase/phase-check"
BATCH_SECONDS = 10.0
#: Bounds on each wait, so that a broken stack fails in minutes, not hours.
RUN_SECONDS = 180


@pytest.fixture(name="stack", scope="module")
def stack_fixture(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: SandboxServer
) -> Iterator[LocalPrefect]:
    """A real Prefect server, the deployments and one process worker, on a data dir of its own."""
    root = tmp_path_factory.mktemp("suspend")
    env = {
        "PREFECT_HOME": str(root / "prefect"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{root / 'prefect.db'}",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        # No cron runs: the batch poller runs when a test says so.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PHASEGATE_DATA_DIR": str(root / "data"),
        "PHASEGATE_BASE_URL": sandbox_server.url,
    }
    stack = LocalPrefect.start(log_dir=root / "logs", env=env)
    try:
        stack.wait_ready(stack.launch())
        yield stack
    finally:
        stack.stop()
        sandbox_server.reset()


@pytest.fixture(name="store")
def store_fixture(stack: LocalPrefect, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """This process's settings on the stack's store, with OpenAI's webhook secret."""
    for key in ("PHASEGATE_DATA_DIR", "PHASEGATE_BASE_URL"):
        monkeypatch.setenv(key, stack.env[key])
    monkeypatch.setenv("PHASEGATE_OPENAI_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    yield Store(get_settings().store_url)
    get_settings.cache_clear()
    # Events this process sent to the stack go out while it runs: an events worker left holding
    # events for a stopped server stalls the session's exit.
    EventsWorker.drain_all(timeout=10)


@pytest.fixture(name="hook")
def hook_fixture(stack: LocalPrefect, store: Store) -> Iterator[str]:
    """The webhook API on the stack's store and Prefect API, taking OpenAI's webhooks."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        app = create_app(get_settings())
        # The server's thread sees the settings above: it runs in a copy of this context.
        context = contextvars.copy_context()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(
        target=context.run, args=(server.run,), kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    wait_for(lambda: _answers(url + "/healthz"), 10, "the webhook API")
    yield url + "/v1/provider/openai"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _register(store: Store, directory: Path, name: str, max_tokens: int) -> None:
    """The tiny use case with one prompt, in batch mode: a deployed check suspends at once.

    `max_tokens` makes each test's requests its own: the store's response cache would answer
    another test's.
    """
    path = write_use_case(directory, name, canary=False)
    spec = yaml.safe_load(path.read_text())
    spec["prompts"] = spec["prompts"][:1]
    spec["generation"] = {"max_tokens": max_tokens}
    spec["eval"] = {"mode": "batch", "poll_max_seconds": 1, "suspend_after_seconds": 1}
    path.write_text(yaml.safe_dump(spec))
    store.apply_specs([load_spec(path)])


def _start_check(api: httpx.Client, use_case: str) -> str:
    deployment = api.get(f"/deployments/name/{DEPLOYMENT}").raise_for_status().json()
    run = api.post(
        f"/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": {"use_case": use_case}},
    )
    return run.raise_for_status().json()["id"]


def _states(api: httpx.Client, run_id: str) -> list[dict]:
    """The run's states, oldest first."""
    found = api.get("/flow_run_states/", params={"flow_run_id": run_id}).raise_for_status().json()
    return sorted(found, key=lambda s: s["timestamp"])


def _state(api: httpx.Client, run_id: str) -> dict:
    return api.get(f"/flow_runs/{run_id}").raise_for_status().json()["state"]


def _suspended(api: httpx.Client, run_id: str) -> bool:
    state = _state(api, run_id)
    assert state["type"] not in {"FAILED", "CRASHED", "CANCELLED"}, state
    return state["name"] == "Suspended"


def _final(api: httpx.Client, run_id: str) -> dict | None:
    state = _state(api, run_id)
    return state if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


def _check_with_batch(
    sandbox: SandboxServer, stack: LocalPrefect, use_case: str, hook: str
) -> tuple[httpx.Client, str, str]:
    """Start a deployed check whose batch takes BATCH_SECONDS; once suspended: the API client,
    the run id and its batch's id."""
    sandbox.reset()  # counters from 0; the session's tuned models stay
    started = time.time()
    sandbox.admin(
        "POST",
        "/sandbox/faults",
        {"batch_seconds": BATCH_SECONDS, "webhook_url": hook, "webhook_secret": SECRET},
    )
    api = httpx.Client(base_url=stack.api_url, timeout=10, transport=RetryBusyTransport())
    run_id = _start_check(api, use_case)
    wait_for(lambda: _suspended(api, run_id), RUN_SECONDS, "the check to suspend")
    (batch,) = [b for b in sandbox.app_state.batches.values() if b.created >= started]
    # Suspended while its batch runs: no process, no worker slot, waits for it.
    assert _status(sandbox, batch.id) != "completed"
    return api, run_id, batch.id


def _status(sandbox: SandboxServer, batch_id: str) -> str:
    """A sandbox batch's status now, as `GET /v1/batches/{id}` would say."""
    return sandbox.app_state.refresh_batch(sandbox.app_state.batches[batch_id]).status


def _ends(sandbox: SandboxServer, batch_id: str) -> float:
    """When a sandbox batch completes, by its clock."""
    batch = sandbox.app_state.batches[batch_id]
    return batch.created + batch.duration


def _resumed_at(api: httpx.Client, run_id: str) -> float:
    """When the run left its (first) suspension, as a Unix time."""
    states = _states(api, run_id)
    index = next(i for i, s in enumerate(states) if s["name"] == "Suspended")
    return datetime.fromisoformat(states[index + 1]["timestamp"]).timestamp()


def test_a_deployed_check_is_suspended_while_its_batch_runs_and_the_webhook_resumes_it(
    stack: LocalPrefect, store: Store, hook: str, sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    _register(store, tmp_path / "hooked", "tiny-hooked", max_tokens=200)
    api, run_id, batch_id = _check_with_batch(sandbox_server, stack, "tiny-hooked", hook)

    final = wait_for(lambda: _final(api, run_id), RUN_SECONDS, "the check's end")

    assert (final["type"], final["name"]) == ("COMPLETED", "Baselined"), final
    late = _resumed_at(api, run_id) - _ends(sandbox_server, batch_id)
    assert late < 2.0, f"resumed {late:.2f} s after its batch completed"
    stats = sandbox_server.stats()
    # The run from the top again found its batch: one batch, no chat call.
    assert (stats["batches_create"], stats["chat_completions"]) == (1, 0)
    (decision,) = store.list_decisions("tiny-hooked")
    assert (decision.kind, decision.flow_run_id) == ("baselined", run_id)


def test_with_the_webhook_lost_the_batch_poller_resumes_the_check(
    stack: LocalPrefect, store: Store, sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    _register(store, tmp_path / "lost", "tiny-lost", max_tokens=201)
    api, run_id, batch_id = _check_with_batch(
        sandbox_server, stack, "tiny-lost", dead_url() + "/provider/openai"
    )
    wait_for(
        lambda: _status(sandbox_server, batch_id) == "completed",
        BATCH_SECONDS * 3,
        "the batch to complete",
    )
    assert _suspended(api, run_id), "nothing but the poller may resume it"

    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        assert poll_batches() == [run_id]
        assert poll_batches() == []  # resumed once

    final = wait_for(lambda: _final(api, run_id), RUN_SECONDS, "the check's end")
    assert (final["type"], final["name"]) == ("COMPLETED", "Baselined"), final
    assert sandbox_server.stats()["batches_create"] == 1
