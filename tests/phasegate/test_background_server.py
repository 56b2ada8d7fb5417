"""`phasegate server start|stop|status`: one background Prefect server that commands reuse."""

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from phasegate import background_server
from phasegate.background_server import ServerRecord
from phasegate.processes import alive, free_port
from state.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
# A command run the way the CLI runs one: which API does its flow run talk to?
COMMAND = """
from prefect import flow
from prefect.settings import PREFECT_API_URL
from phasegate.temporary_api import prefect_api

@flow
def noop() -> int:
    return 1

with prefect_api():
    assert noop() == 1
    print(PREFECT_API_URL.value())
"""


def _record(pid: int, started_by: str = "phasegate server") -> ServerRecord:
    return ServerRecord(
        api_url=f"http://127.0.0.1:{free_port()}/api",
        pid=pid,
        log="server.log",
        started_at=datetime.now(UTC),
        started_by=started_by,
    )


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHASEGATE_"))}
    return env | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PHASEGATE_DATA_DIR": str(tmp_path / "data"),
    }


def _phasegate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phasegate.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_record_whose_process_is_gone_is_no_server(tmp_path: Path) -> None:
    background_server.register(tmp_path, _record(_dead_pid()))
    assert background_server.running_server(tmp_path) is None
    assert background_server.stop_server(tmp_path) is None
    assert not background_server.record_path(tmp_path).exists()


def test_a_record_whose_api_does_not_answer_is_no_server(tmp_path: Path) -> None:
    background_server.register(tmp_path, _record(os.getpid()))
    assert background_server.running_server(tmp_path) is None


def test_a_broken_record_is_no_server(tmp_path: Path) -> None:
    background_server.record_path(tmp_path).write_text("{not json")
    assert background_server.running_server(tmp_path) is None


def test_stop_leaves_the_server_of_serve_alone(tmp_path: Path) -> None:
    background_server.register(tmp_path, _record(os.getpid(), "phasegate serve"))
    with pytest.raises(InputError, match="belongs to `phasegate serve`"):
        background_server.stop_server(tmp_path)
    assert background_server.record_path(tmp_path).exists()


def test_start_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(InputError, match="already listens"):
            background_server.start_server(tmp_path, busy.getsockname()[1])
    assert not background_server.record_path(tmp_path).exists()


def test_status_json_without_a_server_is_valid_against_its_schema(tmp_path: Path) -> None:
    done = _phasegate(_environment(tmp_path), "server", "status", "--json")
    assert done.returncode == 0, done.stderr
    schema = json.loads((ROOT / "docs" / "cli-json" / "server.schema.json").read_text())
    jsonschema.validate(json.loads(done.stdout), schema)
    assert json.loads(done.stdout)["running"] is False


@pytest.mark.prefect
def test_commands_reuse_the_background_server_until_it_stops(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    started = _phasegate(env, "server", "start", "--port", str(free_port()), "--json")
    assert started.returncode == 0, started.stderr
    server = json.loads(started.stdout)
    try:
        again = _phasegate(env, "server", "start", "--json")
        assert (again.returncode, json.loads(again.stdout)["pid"]) == (0, server["pid"])
        command = subprocess.run(
            [sys.executable, "-c", COMMAND], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert command.returncode == 0, command.stderr
        assert command.stdout.strip() == server["api_url"]
        assert f"Prefect: the server at {server['ui_url']}" in command.stderr
    finally:
        stopped = _phasegate(env, "server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not alive(server["pid"])
    status = _phasegate(env, "server", "status", "--json")
    assert json.loads(status.stdout)["running"] is False
    alone = subprocess.run(
        [sys.executable, "-c", COMMAND], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert alone.returncode == 0, alone.stderr
    assert "a temporary server for this command" in alone.stderr
    assert alone.stdout.strip() != server["api_url"]


def test_serve_records_the_server_it_started_and_forgets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phasegate.cli.serve import _register_own_server
    from state.settings import get_settings
    from tests.phasegate import serve_helpers

    monkeypatch.setenv("PHASEGATE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    stack = serve_helpers.stack(tmp_path)
    stack.children.append(serve_helpers.sleeper(tmp_path, "prefect-server"))
    try:
        pid = _register_own_server(stack)
        recorded = background_server._read(tmp_path / "data")
        assert (recorded.pid, recorded.started_by) == (pid, "phasegate serve")
        background_server.forget(tmp_path / "data", pid)
        assert not background_server.record_path(tmp_path / "data").exists()
    finally:
        stack.stop(grace=1)
        get_settings.cache_clear()
