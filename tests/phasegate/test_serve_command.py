"""`phasegate serve`: what it refuses, and how it stops its processes."""

import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from phasegate import processes
from phasegate.cli.serve import _run_until_stopped, serve_command
from state.errors import InputError, ServeError
from tests.phasegate import serve_helpers
from tests.phasegate.serve_helpers import ROOT


def test_serve_command_without_server_needs_prefect_api_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with pytest.raises(InputError, match="PREFECT_API_URL"):
        serve_command(no_server=True)


def test_serve_command_refuses_a_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(InputError, match="already listens"):
            serve_command(port=busy.getsockname()[1])


def test_serve_stops_everything_when_a_process_exits_by_itself(tmp_path: Path) -> None:
    stack = serve_helpers.stack(tmp_path)
    stack.children += [
        serve_helpers.sleeper(tmp_path, "server"),
        serve_helpers.sleeper(tmp_path, "worker", "pass"),
    ]
    with pytest.raises(ServeError, match="worker exited with 0"):
        _run_until_stopped(stack)
    stack.stop(grace=2)
    assert stack.first_exit() is not None and stack.pids() == []


# `phasegate serve` on a stack of stand-in processes: what Ctrl-C does to them.
SERVE_ON_SLEEPERS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from phasegate import processes, serve
    from phasegate.cli import serve as cli_serve

    def start(*, log_dir, **_):
        stack = serve.LocalPrefect("http://127.0.0.1:9/api", {}, log_dir)
        for name in ("server", "worker"):
            args = [sys.executable, "-c", "import time; time.sleep(60)"]
            stack.children.append(processes.spawn(name, args, {}, log_dir))
        print("pids:", *stack.pids(), flush=True)
        return stack

    serve.start_local_prefect = start
    cli_serve.serve_command(port=processes.free_port())
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_command_stops_its_processes_on_a_signal(
    signum: signal.Signals, settings: object, tmp_path: Path
) -> None:
    command = subprocess.Popen(
        [sys.executable, "-c", SERVE_ON_SLEEPERS],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pids = [int(pid) for pid in _wait_for_text(command, "pids:").split()[1:]]
        assert len(pids) == 2
        runner = _wait_for_text(command, "warm runner:")  # for the CLI's flow commands
        pids.append(int(runner.split("pid ")[1].split()[0]))
        _wait_for_text(command, "Ctrl-C stops")
        command.send_signal(signum)
        assert command.wait(timeout=20) == 0
        assert [pid for pid in pids if processes.alive(pid)] == []
    finally:
        command.kill()
        command.wait()


def _wait_for_text(command: subprocess.Popen[str], text: str) -> str:
    for line in command.stdout:
        if text in line:
            return line
    raise AssertionError(f"{text!r} never printed; stderr: {command.stderr.read()}")
