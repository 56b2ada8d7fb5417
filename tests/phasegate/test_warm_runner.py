"""The warm runner of `phasegate server`: flow commands run in it, as they would in-process.

One Prefect server (and runner) for the module. The data dir has a twin, a copy of its store
that names the same server and runner: the twin's commands run in-process when their PREFECT_*
variables differ from the runner's, so both ways can be compared on the same starting state.
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from phasegate import warm_client
from phasegate.processes import alive, free_port
from tests.plugins.sandbox_server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
WARM = "Phasegate: runs in the warm runner of `phasegate server`"
DEADLINE_SECONDS = 60.0


@dataclass
class Warm:
    """The environments of the data dir (warm) and of its twin (in-process), and the runner."""

    env: dict[str, str]
    twin: dict[str, str]
    runner: dict


def _phasegate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phasegate.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _environment(data_dir: Path, prefect_home: Path, sandbox_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHASEGATE_"))}
    return env | {
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PHASEGATE_DATA_DIR": str(data_dir),
        "PHASEGATE_BASE_URL": sandbox_url,
    }


@pytest.fixture(name="warm", scope="module")
def warm_fixture(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: SandboxServer
) -> Iterator[Warm]:
    """A data dir with both use cases applied, `phasegate server` running, and its twin."""
    tmp = tmp_path_factory.mktemp("warm")
    env = _environment(tmp / "data", tmp / "prefect", sandbox_server.url)
    twin = _environment(tmp / "twin", tmp / "prefect", sandbox_server.url)
    twin["PREFECT_LOGGING_LEVEL"] = "ERROR"  # not the runner's: the twin runs in-process
    applied = _phasegate(env, "apply", "usecases")
    assert applied.returncode == 0, applied.stderr
    shutil.copytree(tmp / "data", tmp / "twin")
    started = _phasegate(env, "server", "start", "--port", str(free_port()), "--json")
    try:
        assert started.returncode == 0, started.stderr
        for record in ("prefect-server.json", warm_client.RECORD):
            shutil.copy(tmp / "data" / record, tmp / "twin" / record)
        runner = json.loads((tmp / "data" / warm_client.RECORD).read_text())
        assert json.loads(started.stdout)["warm_runner_pid"] == runner["pid"]
        yield Warm(env, twin, runner)
    finally:
        _phasegate(env, "server", "stop")


def _comparable(document: dict) -> dict:
    """A check's JSON document without what differs between two runs (ids, times)."""
    recorded = document["recorded"]
    return {
        "decision": document["decision"],
        "reason": document["reason"],
        "gates": [(g["check"], g["status"]) for g in recorded["gates"]],
    }


def test_a_check_in_the_warm_runner_decides_as_in_process(warm: Warm) -> None:
    here = _phasegate(warm.twin, "check", "support-qa", "--auto-approve", "--json")
    there = _phasegate(warm.env, "check", "support-qa", "--auto-approve", "--json")
    assert (here.returncode, there.returncode) == (0, 0), there.stderr
    assert WARM not in here.stderr
    assert f"{WARM} (pid " in there.stderr
    assert _comparable(json.loads(there.stdout)) == _comparable(json.loads(here.stdout))
    assert json.loads(there.stdout)["decision"] == "baselined"


def test_an_error_in_the_warm_runner_is_the_same_as_in_process(warm: Warm) -> None:
    here = _phasegate(warm.twin, "check", "no-such-case", "--auto-approve")
    there = _phasegate(warm.env, "check", "no-such-case", "--auto-approve")
    assert WARM in there.stderr
    assert there.returncode == here.returncode == 2
    assert there.stderr.splitlines()[-1] == here.stderr.splitlines()[-1]
    assert "unknown use case" in here.stderr


def test_the_child_writes_in_the_clients_encoding(warm: Warm) -> None:
    latin = {"PYTHONIOENCODING": "latin-1"}
    here, there = (
        subprocess.run(
            [sys.executable, "-m", "phasegate.cli", "check", "café"],
            env=env | latin,
            cwd=ROOT,
            capture_output=True,
            timeout=300,
        )
        for env in (warm.twin, warm.env)
    )
    assert WARM.encode() in there.stderr
    assert there.returncode == here.returncode == 2
    assert b"caf\xe9" in here.stderr.splitlines()[-1]
    assert there.stderr.splitlines()[-1] == here.stderr.splitlines()[-1]


def test_a_command_that_runs_no_flow_runs_in_process(warm: Warm) -> None:
    done = _phasegate(warm.env, "history", "support-qa")
    assert done.returncode == 0, done.stderr
    assert WARM not in done.stderr


def _start_check(
    env: dict[str, str], use_case: str, until: str = WARM
) -> tuple[subprocess.Popen[str], int]:
    """A check started in the warm runner, once its stderr shows `until`; its child's pid."""
    client = subprocess.Popen(
        [sys.executable, "-m", "phasegate.cli", "check", use_case, "--auto-approve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline, child = time.monotonic() + DEADLINE_SECONDS, None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([client.stderr], [], [], deadline - time.monotonic())
        line = client.stderr.readline() if ready else ""
        if line.startswith(WARM):
            child = int(line.rsplit("pid ", 1)[1].rstrip(")\n"))
        if child is not None and until in line:
            return client, child
        if not line:
            break
    client.kill()
    raise AssertionError("the check did not start in the warm runner")


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_ctrl_c_of_the_client_stops_its_child(warm: Warm) -> None:
    client, child = _start_check(warm.env, "feedback-triage", until="scoring")
    client.send_signal(signal.SIGINT)
    code = client.wait(timeout=DEADLINE_SECONDS)
    assert _gone(child)
    # 130 as a shell shows a command Ctrl-C stopped; 1 when Prefect turns the interrupt of a
    # flow run into an error (as in-process: the same code runs).
    assert code in (130, 1), client.stderr.read()
    client.stderr.close()


def test_a_client_killed_with_sigkill_takes_its_child_with_it(warm: Warm) -> None:
    """As a check process killed mid-run: the child goes too (its lease expires, as today)."""
    client, child = _start_check(warm.twin | {"PREFECT_LOGGING_LEVEL": "WARNING"}, "support-qa")
    client.kill()
    client.wait(timeout=DEADLINE_SECONDS)
    assert _gone(child)
    client.stderr.close()


def test_a_child_a_signal_ended_exits_128_plus_the_signal(warm: Warm) -> None:
    data = Path(warm.env["PHASEGATE_DATA_DIR"])
    client, child = _start_check(warm.env, "support-qa")
    os.kill(child, signal.SIGKILL)
    assert client.wait(timeout=DEADLINE_SECONDS) == 128 + signal.SIGKILL
    assert _gone(child)
    client.stderr.close()
    assert (data / warm_client.RECORD).exists()  # the runner serves on


def test_another_prefect_environment_runs_in_process(warm: Warm) -> None:
    env = warm.env | {"PREFECT_LOGGING_LEVEL": "ERROR"}
    done = _phasegate(env, "check", "no-such-case")
    assert done.returncode == 2
    assert WARM not in done.stderr


def test_a_dead_runner_falls_back_in_process(warm: Warm, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(stale))  # a socket file nothing listens on once closed
    env = warm.env | {"PHASEGATE_DATA_DIR": str(data)}
    for path in (stale, tmp_path / "missing.sock"):
        (data / warm_client.RECORD).write_text(json.dumps(warm.runner | {"socket": str(path)}))
        done = _phasegate(env, "check", "no-such-case")
        assert done.returncode == 2, done.stderr
        assert WARM not in done.stderr
        assert "Traceback" not in done.stderr


def test_the_runner_refuses_a_malformed_request_and_serves_on(warm: Warm) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(DEADLINE_SECONDS)
        connection.connect(warm.runner["socket"])
        connection.sendall(b"\x00\x00\x00\x02{}")  # no fds
        assert connection.recv(100) == b""  # closed without starting anything
    done = _phasegate(warm.env, "check", "no-such-case")
    assert (done.returncode, WARM in done.stderr) == (2, True)


def test_server_status_shows_the_runner_and_stop_stops_it(warm: Warm) -> None:
    status = _phasegate(warm.env, "server", "status")
    assert f"warm runner running: pid {warm.runner['pid']}" in status.stdout
    as_json = json.loads(_phasegate(warm.env, "server", "status", "--json").stdout)
    assert as_json["warm_runner_pid"] == warm.runner["pid"]
    stopped = _phasegate(warm.env, "server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped the warm runner (pid {warm.runner['pid']})" in stopped.stdout
    assert _gone(warm.runner["pid"])
    data = Path(warm.env["PHASEGATE_DATA_DIR"])
    assert not (data / warm_client.RECORD).exists()
    assert not Path(warm.runner["socket"]).exists()


def test_a_runner_killed_mid_command_ends_its_command(warm: Warm) -> None:
    """Its own runner on the twin (after the module's is stopped): SIGKILL it mid-check."""
    from phasegate.warm_process import LAUNCH

    twin = Path(warm.twin["PHASEGATE_DATA_DIR"])
    env = warm.twin | {"PREFECT_LOGGING_LEVEL": "WARNING"}
    runner = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(twin), "phasegate server"],
        env=env,
        cwd=twin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while json.loads((twin / warm_client.RECORD).read_text())["pid"] != runner.pid:
            assert time.monotonic() < deadline and runner.poll() is None
            time.sleep(0.1)
        client, child = _start_check(env, "feedback-triage", until="scoring")
        runner.kill()
        assert client.wait(timeout=DEADLINE_SECONDS) == 1
        assert "the warm runner stopped while the command ran" in client.stderr.read()
        assert _gone(child)
        client.stderr.close()
    finally:
        runner.kill()
        runner.wait()


def test_only_commands_that_run_flows_go_to_the_runner() -> None:
    assert warm_client.runs_flows(["check", "support-qa"])
    assert warm_client.runs_flows(["rollout", "promote", "support-qa"])
    assert not warm_client.runs_flows(["rollout", "status", "support-qa"])
    assert not warm_client.runs_flows(["check", "--help"])
    assert not warm_client.runs_flows(["status"])
    assert not warm_client.runs_flows([])


def test_a_prefect_configuration_file_in_the_working_directory_is_found(tmp_path: Path) -> None:
    assert warm_client.prefect_config_file(str(tmp_path)) is None
    (tmp_path / ".env").write_text("PHASEGATE_DATA_DIR=x\n")
    assert warm_client.prefect_config_file(str(tmp_path)) is None
    (tmp_path / "pyproject.toml").write_text("[tool.prefect]\nlogging.level = 'DEBUG'\n")
    assert warm_client.prefect_config_file(str(tmp_path)) == str(tmp_path / "pyproject.toml")


def test_the_client_imports_nothing_heavy() -> None:
    """What a command pays before it knows whether the warm runner takes it."""
    code = (
        "import json, sys; from phasegate.cli import main; from phasegate import warm_client; "
        "warm_client.fitting_runner(); print(json.dumps(sorted({*sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    imported = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not imported & {"typer", "rich", "pydantic", "prefect", "sqlalchemy", "openai", "numpy"}
    assert "phasegate" in imported


def test_a_runner_that_cannot_listen_is_reported_not_raised(tmp_path: Path) -> None:
    from phasegate.warm_process import running_runner, start_runner

    (tmp_path / "warm-runner.sock").mkdir()  # where its socket would go
    runner, why = start_runner(tmp_path, "phasegate serve", detached=False)
    assert runner is None
    assert why.startswith("the warm runner exited with 1")
    assert running_runner(tmp_path) is None


RECOLOUR = """
import logging, os, pty, sys
import prefect.flow_engine
from phasegate import warm_child
console = logging.getLogger().handlers[0].console
before = console._color_system
_, terminal = pty.openpty()
os.dup2(terminal, 2)
warm_child.recolour_consoles()
print(before, console._color_system is not None)
"""


def test_a_child_logs_in_colour_on_the_clients_terminal() -> None:
    """Prefect's console handler chose no colours for the runner's log; the child re-chooses."""
    done = subprocess.run(
        [sys.executable, "-c", RECOLOUR],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        | {"TERM": "xterm-256color", "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["None", "True"]


PRELOADED = """
import json, sys, threading
from phasegate import warm_runner
missing = warm_runner.preload()
from state.settings import get_settings
print(json.dumps({
    "missing": missing,
    "cli": sorted(m for m in sys.modules if m.startswith("phasegate.cli")),
    "settings_read": get_settings.cache_info().currsize,
    "threads": threading.active_count(),
    "prefect": "prefect.flow_engine" in sys.modules,
}))
"""


def test_the_preload_reads_no_terminal_settings_or_threads() -> None:
    """The runner imports the stack, but nothing that fixes the terminal or settings for good."""
    done = subprocess.run(
        [sys.executable, "-c", PRELOADED], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == {
        "missing": [],
        "cli": [],  # phasegate.cli.app's console reads the terminal at import
        "settings_read": 0,
        "threads": 1,
        "prefect": True,
    }
