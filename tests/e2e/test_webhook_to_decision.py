"""End to end: a signed webhook starts a deployed phase check that a person approves over the API.

Real processes throughout: `prefect server start`, `prefect deploy --all` and a process worker
(via phasegate/serve.py), the sandbox and the webhook API served in threads of this process.
"""

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.phase_check import check_phase
from phasegate.processes import alive
from phasegate.serve import LocalPrefect
from phasegate.signing import new_secret, signed_request
from phasegate.webhooks import create_app
from state.db import store_session
from state.decisions import list_decisions
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.use_cases import apply_spec, require_use_case
from tests.e2e.prefect_http import RetryBusyTransport, wait_for

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[2]
USE_CASE = "support-qa"
SECRET = new_secret()
DEPLOYMENT = "check-phase/phase-check"
APPROVAL = {"approve": True, "reason": "fine-tuning pays off here", "approver": "e2e-approver"}
#: Bounds on each wait, so that a broken stack fails in minutes, not hours.
RUN_PAUSED_SECONDS = 240
RUN_FINISHED_SECONDS = 180
STOP_SECONDS = 20


@pytest.fixture(name="e2e_settings")
def e2e_settings_fixture(
    settings: Settings, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on a fresh data dir, the sandbox as provider, and a webhook secret."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    monkeypatch.setenv("PHASEGATE_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(name="stack")
def stack_fixture(tmp_path: Path, e2e_settings: Settings) -> Iterator[LocalPrefect]:
    """A real Prefect server on a free loopback port, with its own home and the work pool."""
    env = {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        # No cron runs of sweep/monitor competing with the check under test.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PHASEGATE_DATA_DIR": str(e2e_settings.data_dir),
        "PHASEGATE_BASE_URL": e2e_settings.base_url,
    }
    stack = LocalPrefect.start(log_dir=tmp_path / "logs", env=env)
    yield stack
    stack.stop()  # bounded: SIGTERM, then SIGKILL after a few seconds, per process


@pytest.fixture(name="webhook_url")
def webhook_url_fixture(stack: LocalPrefect, e2e_settings: Settings) -> Iterator[str]:
    """The webhook API with its real Prefect emitter, served by uvicorn in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        app = create_app(e2e_settings)
        # The server's thread sees the settings above: it runs in a copy of this context.
        context = contextvars.copy_context()
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=context.run, args=(server.run,), kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _healthy(url), 10, "the webhook API")
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _signed(method: str, url: str, payload: dict | None = None) -> httpx.Response:
    path = httpx.URL(url).path
    body, headers = signed_request(SECRET, method, path, payload)
    return httpx.request(method, url, content=body, headers=headers, timeout=30)


def _runs_of(api: httpx.Client, deployment_id: str) -> list[dict]:
    query = {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "limit": 10}
    return api.post("/flow_runs/filter", json=query).raise_for_status().json()


def _paused_run(api: httpx.Client, deployment_id: str) -> dict | None:
    runs = _runs_of(api, deployment_id)
    assert len(runs) <= 1, f"one request started {len(runs)} runs"
    if runs and runs[0]["state"]["type"] in {"FAILED", "CRASHED", "CANCELLED"}:
        raise AssertionError(f"the triggered run ended: {runs[0]['state']}")
    return runs[0] if runs and runs[0]["state"]["type"] == "PAUSED" else None


def _final_state(api: httpx.Client, run_id: str) -> dict | None:
    state = api.get(f"/flow_runs/{run_id}").raise_for_status().json()["state"]
    return state if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


def test_webhook_check_pauses_then_api_approval_moves_to_fine_tuning(
    stack: LocalPrefect, webhook_url: str, e2e_settings: Settings
) -> None:
    with store_session(e2e_settings.store_url) as session:
        apply_spec(load_spec(ROOT / "usecases" / USE_CASE / "spec.yaml"), session=session)
    deploying = stack.launch()
    # Baseline, then RAG (no approval needed), in this process while the worker starts.
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        assert check_phase(USE_CASE, return_state=True).name == "Baselined"
        assert check_phase(USE_CASE, return_state=True).name == "Advanced"
        # Flush this process's events to the server while it runs: an events worker left
        # holding events for a stopped server would stall a later drain.
        EventsWorker.drain_all(timeout=10)
    stack.wait_ready(deploying)
    active_url = f"{webhook_url}/v1/usecases/{USE_CASE}/active"
    before = _signed("GET", active_url)
    assert before.json()["phase"] == "rag"

    requested = _signed(
        "POST", f"{webhook_url}/v1/usecases/{USE_CASE}/checks", {"requested_by": "e2e"}
    )
    assert requested.status_code == 202, requested.text

    with httpx.Client(base_url=stack.api_url, timeout=10, transport=RetryBusyTransport()) as api:
        deployment = api.get(f"/deployments/name/{DEPLOYMENT}").raise_for_status().json()
        run = wait_for(
            lambda: _paused_run(api, deployment["id"]), RUN_PAUSED_SECONDS, "a paused run"
        )
        assert run["parameters"] == {"use_case": USE_CASE}
        processes = stack.pids()
        assert len(processes) > len(stack.children), "the paused run's process is not tracked"
        resumed = api.post(f"/flow_runs/{run['id']}/resume", json={"run_input": APPROVAL})
        assert resumed.status_code == 201, resumed.text
        assert resumed.json()["status"] == "ACCEPT", resumed.text
        final = wait_for(
            lambda: _final_state(api, run["id"]), RUN_FINISHED_SECONDS, "the run's end"
        )
    assert (final["type"], final["name"]) == ("COMPLETED", "Advanced")

    with store_session(e2e_settings.store_url) as session:
        decision = list_decisions(USE_CASE, session=session, limit=1)[-1]
        phase = require_use_case(USE_CASE, session=session).active_phase
    assert (decision.kind, decision.flow_run_id) == ("advanced", run["id"])
    assert (decision.decided_by, phase) == (APPROVAL["approver"], "fine_tuning")
    after = _signed("GET", active_url)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.json()["phase"] == "fine_tuning"

    stopping = time.monotonic()
    stack.stop()
    assert time.monotonic() - stopping < STOP_SECONDS
    assert [pid for pid in processes if alive(pid)] == []
