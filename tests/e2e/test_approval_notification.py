"""End to end: a paused check tells a webhook once, through a real Prefect automation.

A real `prefect server start` (its triggers evaluate automations; the temporary API's do not),
the automations of phasegate/notifications.py calling a webhook served by this test, and real
phase checks of support-qa on the sandbox: the baseline, then prompting → RAG with approval
required, which pauses (polling every second) until the test approves it.
"""

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.phase_check import check_phase
from phasegate.notifications import install_notifications
from phasegate.serve import LocalPrefect
from state.db import store_session
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.use_cases import apply_spec
from tasks.approvals import give_answer
from tasks.events import APPROVAL_REQUESTED, DECISION_RECORDED
from tests.e2e.prefect_http import wait_for
from tests.flows.journey import in_thread

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[2]
USE_CASE = "support-qa"
NOTIFIED_SECONDS = 120


class Inbox(ThreadingHTTPServer):
    """A webhook receiver on a free loopback port that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Receive)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def of(self, event: str) -> list[dict]:
        return [body for body in self.bodies if body["event"] == event]


class _Receive(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the http.server name)
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet: the test reads the bodies."""


@pytest.fixture(name="inbox")
def inbox_fixture() -> Iterator[Inbox]:
    """The webhook the automations call."""
    inbox = Inbox()
    thread = threading.Thread(target=inbox.serve_forever, daemon=True)
    thread.start()
    yield inbox
    inbox.shutdown()
    inbox.server_close()


@pytest.fixture(name="notify_settings")
def notify_settings_fixture(
    settings: Settings, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on a fresh data dir with the sandbox as provider."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(name="server")
def server_fixture(tmp_path: Path, notify_settings: Settings) -> Iterator[LocalPrefect]:
    """A real Prefect server on a free loopback port, with its own home and database."""
    env = {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    }
    stack = LocalPrefect.start(log_dir=tmp_path / "logs", env=env)
    yield stack
    stack.stop()


def _spec_needing_approval(tmp_path: Path) -> Path:
    """support-qa's spec, with prompting → RAG waiting for a person."""
    target = tmp_path / USE_CASE
    shutil.copytree(ROOT / "usecases" / USE_CASE, target)
    spec = yaml.safe_load((target / "spec.yaml").read_text())
    spec.setdefault("gates", {}).setdefault("prompting_to_rag", {})["require_approval"] = True
    (target / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return target / "spec.yaml"


def test_paused_check_notifies_the_webhook_once_then_its_decision_once(
    server: LocalPrefect, inbox: Inbox, notify_settings: Settings, tmp_path: Path
) -> None:
    with store_session(notify_settings.store_url) as session:
        apply_spec(load_spec(_spec_needing_approval(tmp_path)), session=session)
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        assert len(install_notifications(inbox.url)) == 2
        assert check_phase(USE_CASE, return_state=True).name == "Baselined"
        outcome: dict = {}
        checking = in_thread(
            lambda: outcome.update(
                state=check_phase(USE_CASE, approval_poll_seconds=1, return_state=True)
            )
        )
        asked = wait_for(lambda: inbox.of(APPROVAL_REQUESTED), NOTIFIED_SECONDS, "the approval")
        run_id = asked[0]["payload"]["flow_run_id"]
        give_answer(run_id, approve=True, reason="the RAG answers cite sources", approver="ana")
        checking.join(timeout=NOTIFIED_SECONDS)
        EventsWorker.drain_all(timeout=10)
        decided = wait_for(
            lambda: [
                b for b in inbox.of(DECISION_RECORDED) if b["payload"]["decision"] == "advanced"
            ],
            NOTIFIED_SECONDS,
            "the decision's notification",
        )
    assert outcome["state"].name == "Advanced"
    assert len(inbox.of(APPROVAL_REQUESTED)) == 1
    body = asked[0]
    assert body["payload"]["move"] == "prompting→rag"
    assert body["payload"]["url"] == f"{server.api_url.removesuffix('/api')}/runs/flow-run/{run_id}"
    assert body["text"].startswith(f"Phasegate: {USE_CASE} waits for a person: prompting→rag")
    assert [b["payload"]["decided_by"] for b in decided] == ["ana"]
    kinds = sorted(b["payload"]["decision"] for b in inbox.of(DECISION_RECORDED))
    assert kinds == ["advanced", "baselined"]
