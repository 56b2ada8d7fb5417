"""prefect.yaml and the machinery of `phasegate serve` (its start-up and shutdown rules)."""

import importlib
import inspect
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

from phasegate import prefect_api, processes, serve
from phasegate.cli_serve import _run_until_stopped, serve_command
from phasegate.prefect_api import ServeError
from phasegate.processes import Child
from phasegate.serve import LocalPrefect
from state.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = yaml.safe_load((ROOT / "prefect.yaml").read_text())
DEPLOYMENTS = {d["name"]: d for d in PREFECT_YAML["deployments"]}


def _flow_of(entrypoint: str) -> object:
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def test_prefect_yaml_declares_phase_check_sweep_and_monitor() -> None:
    assert set(DEPLOYMENTS) == {"phase-check", "sweep", "monitor"}


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_entrypoint_is_a_flow(name: str) -> None:
    assert isinstance(_flow_of(DEPLOYMENTS[name]["entrypoint"]), Flow)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_runs_on_the_phasegate_process_pool(name: str) -> None:
    assert DEPLOYMENTS[name]["work_pool"]["name"] == prefect_api.POOL


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_parameters_are_parameters_of_its_flow(name: str) -> None:
    deployment = DEPLOYMENTS[name]
    given = set(deployment.get("parameters") or {})
    for trigger in deployment.get("triggers") or []:
        given |= set(trigger["parameters"])
    accepted = set(inspect.signature(_flow_of(deployment["entrypoint"]).fn).parameters)
    assert given <= accepted


def test_phase_check_trigger_passes_the_use_case_of_check_requested_events() -> None:
    (trigger,) = DEPLOYMENTS["phase-check"]["triggers"]
    assert (trigger["type"], trigger["enabled"]) == ("event", True)
    assert trigger["expect"] == ["phasegate.check.requested"]
    assert trigger["match"] == {"prefect.resource.id": "phasegate.usecase.*"}
    assert trigger["parameters"] == {"use_case": "{{ event.payload.use_case }}"}


def test_phase_check_trigger_expects_the_event_the_webhook_emits() -> None:
    from phasegate.webhooks import CHECK_REQUESTED

    (trigger,) = DEPLOYMENTS["phase-check"]["triggers"]
    assert trigger["expect"] == [CHECK_REQUESTED]


@pytest.mark.parametrize(("name", "every"), [("sweep", "nightly"), ("monitor", "hourly")])
def test_scheduled_deployment_has_a_valid_cron(name: str, every: str) -> None:
    (schedule,) = DEPLOYMENTS[name]["schedules"]
    assert schedule == PREFECT_YAML["definitions"]["schedules"][every]
    CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])


def test_prefect_yaml_pulls_nothing_over_a_network() -> None:
    steps = PREFECT_YAML.get("pull") or []
    assert all(set(step) == {"prefect.deployments.steps.set_working_directory"} for step in steps)
    assert not any("pull" in deployment for deployment in PREFECT_YAML["deployments"])


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_prefect_yaml_holds_no_secret() -> None:
    words = ("secret", "password", "api_key", "token", "sk-")
    assert [s for s in _strings(PREFECT_YAML) if any(w in s.lower() for w in words)] == []


def _sleeper(tmp_path: Path, name: str, code: str = "import time; time.sleep(60)") -> Child:
    return processes.spawn(name, [sys.executable, "-c", code], {}, tmp_path)


# A parent that starts a child in a session of its own, as the worker starts flow runs.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    print("pid", child.pid, flush=True)
    time.sleep(60)
    """
)


def test_descendants_finds_a_child_in_another_session(tmp_path: Path) -> None:
    parent = _sleeper(tmp_path, "parent", PARENT)
    try:
        grandchild = int(_wait_for_line(parent.log, "pid").split()[1])
        assert processes.descendants(parent.pid) == [grandchild]
    finally:
        processes.stop_child(parent, grace=1)


def test_stop_child_ends_the_child_and_its_descendants(tmp_path: Path) -> None:
    parent = _sleeper(tmp_path, "parent", PARENT)
    grandchild = int(_wait_for_line(parent.log, "pid").split()[1])
    processes.stop_child(parent, grace=2)
    assert parent.process.poll() is not None
    assert not processes.alive(grandchild)


def test_stop_child_kills_a_descendant_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('ignoring', flush=True); time.sleep(60)"
    )
    parent = _sleeper(tmp_path, "parent", PARENT.replace("import time; time.sleep(60)", stubborn))
    grandchild = int(_wait_for_line(parent.log, "pid").split()[1])
    _wait_for_line(parent.log, "ignoring")
    processes.stop_child(parent, grace=0.5)
    assert not processes.alive(grandchild)


def test_stop_child_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = _sleeper(
        tmp_path,
        "stubborn",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True);"
        " time.sleep(60)",
    )
    _wait_for_line(stubborn.log)
    started = time.monotonic()
    processes.stop_child(stubborn, grace=0.5)
    assert stubborn.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 3


def test_stop_child_leaves_an_exited_child_alone(tmp_path: Path) -> None:
    done = _sleeper(tmp_path, "done", "pass")
    done.process.wait(timeout=10)
    processes.stop_child(done, grace=0.1)
    assert done.process.returncode == 0


def _wait_for_line(log: Path, containing: str = "", timeout: float = 15) -> str:
    """The first complete line of `log` that holds `containing`, once it is written."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines(keepends=True)
        found = [line for line in lines if line.endswith("\n") and containing in line]
        if found:
            return found[0].strip()
        assert time.monotonic() < deadline, f"no line with {containing!r} in {log}"
        time.sleep(0.02)


def test_wait_until_healthy_fails_when_the_server_exits(tmp_path: Path) -> None:
    server = _sleeper(tmp_path, "server", "raise SystemExit(3)")
    with pytest.raises(ServeError, match="exited with 3"):
        prefect_api.wait_until_healthy(prefect_api.api_url_for(processes.free_port()), 30, server)


def test_wait_until_healthy_fails_when_nothing_answers_in_time() -> None:
    with pytest.raises(ServeError, match="did not answer within"):
        prefect_api.wait_until_healthy(prefect_api.api_url_for(processes.free_port()), 0.3)


def _record_spawns(monkeypatch: pytest.MonkeyPatch) -> list[Child]:
    """Keep every process `serve.spawn` starts from now on."""
    spawned: list[Child] = []
    real_spawn = serve.spawn

    def spawn(*args: object) -> Child:
        spawned.append(real_spawn(*args))
        return spawned[-1]

    monkeypatch.setattr(serve, "spawn", spawn)
    return spawned


def test_start_stops_the_server_it_started_when_it_never_gets_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned = _record_spawns(monkeypatch)
    monkeypatch.setattr(serve, "SERVER_START_SECONDS", 0.2)
    with pytest.raises(ServeError, match="did not answer"):
        LocalPrefect.start(log_dir=tmp_path)
    assert [child.process.poll() is not None for child in spawned] == [True]


def test_start_on_an_unreachable_api_fails_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "EXISTING_API_SECONDS", 0.2)
    with pytest.raises(ServeError, match="did not answer within"):
        LocalPrefect.start(log_dir=tmp_path, api_url=prefect_api.api_url_for(processes.free_port()))


def _stack(tmp_path: Path) -> LocalPrefect:
    return LocalPrefect(prefect_api.api_url_for(processes.free_port()), {}, tmp_path)


def test_wait_ready_fails_when_deploy_fails(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    deploying = _sleeper(tmp_path, "deploy", "raise SystemExit(1)")
    stack.children.append(deploying)
    with pytest.raises(ServeError, match="deploy --all` exited with 1"):
        stack.wait_ready(deploying)


def test_wait_ready_fails_when_deploy_takes_too_long(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    deploying = _sleeper(tmp_path, "deploy")
    stack.children.append(deploying)
    try:
        with pytest.raises(ServeError, match="took over"):
            stack.wait_ready(deploying, deploy_timeout=0.2)
    finally:
        stack.stop(grace=1)


def test_wait_ready_fails_when_the_worker_stops(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    worker = _sleeper(tmp_path, "prefect-worker", "raise SystemExit(2)")
    worker.process.wait(timeout=10)
    stack.children.append(worker)
    deploying = _sleeper(tmp_path, "deploy", "pass")
    stack.children.append(deploying)
    with pytest.raises(ServeError, match="prefect-worker exited with 2"):
        stack.wait_ready(deploying)


# Records the order in which processes get SIGTERM, then exits.
ON_SIGTERM = textwrap.dedent(
    """
    import signal, sys, time
    def note(*_):
        with open(sys.argv[1], "a") as out:
            out.write(sys.argv[2] + "\\n")
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, note)
    print(1, flush=True)
    time.sleep(60)
    """
)


def test_stack_stop_ends_the_last_started_first(tmp_path: Path) -> None:
    order = tmp_path / "order.txt"
    stack = _stack(tmp_path)
    for name in ("server", "worker"):
        args = [sys.executable, "-c", ON_SIGTERM, str(order), name]
        stack.children.append(processes.spawn(name, args, {}, tmp_path))
    for child in stack.children:
        _wait_for_line(child.log)
    stack.stop(grace=5)
    assert order.read_text().split() == ["worker", "server"]


@dataclass
class FakePrefectApi:
    """A stand-in for Prefect's API: answers GET paths from `found`, every POST with `post`."""

    url: str = ""
    found: dict[str, int] = field(default_factory=dict)
    post: int = 500
    seen: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(name="fake_api")
def fake_api_fixture() -> Iterator[FakePrefectApi]:
    """A fake Prefect API on a free loopback port (no work pool; creating one answers 500)."""
    fake = FakePrefectApi()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int) -> None:
            fake.seen.append((self.command, self.path))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]" if status == 200 else b'{"detail": "no"}')

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            self._answer(fake.found.get(self.path, 404))

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self._answer(fake.post)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_port}/api"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    thread.join(timeout=5)


def test_ensure_work_pool_fails_when_the_api_refuses_to_create_it(fake_api: FakePrefectApi) -> None:
    with pytest.raises(ServeError, match="creating work pool 'phasegate' answered 500"):
        prefect_api.ensure_work_pool(fake_api.url)
    assert fake_api.seen == [("GET", "/api/work_pools/phasegate"), ("POST", "/api/work_pools/")]


def test_ensure_work_pool_keeps_an_existing_pool(fake_api: FakePrefectApi) -> None:
    fake_api.found["/api/work_pools/phasegate"] = 200
    assert prefect_api.ensure_work_pool(fake_api.url) is False
    assert fake_api.seen == [("GET", "/api/work_pools/phasegate")]


def test_wait_ready_fails_when_no_worker_polls_in_time(
    tmp_path: Path, fake_api: FakePrefectApi
) -> None:
    fake_api.post = 200  # the pool's worker list: always empty
    stack = LocalPrefect(fake_api.url, {}, tmp_path)
    stack.children.append(_sleeper(tmp_path, "prefect-worker"))
    deploying = _sleeper(tmp_path, "deploy", "pass")
    stack.children.append(deploying)
    try:
        with pytest.raises(ServeError, match="did not poll pool 'phasegate'"):
            stack.wait_ready(deploying, worker_timeout=0.3)
    finally:
        stack.stop(grace=1)


def test_start_local_prefect_stops_what_it_started_when_deploy_fails(
    tmp_path: Path, fake_api: FakePrefectApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_api.found |= {"/api/health": 200, "/api/work_pools/phasegate": 200}
    spawned = _record_spawns(monkeypatch)

    def prefect_args(*args: str) -> list[str]:
        code = "raise SystemExit(1)" if "deploy" in args else "import time; time.sleep(60)"
        return [sys.executable, "-c", code]

    monkeypatch.setattr(serve, "prefect_args", prefect_args)
    with pytest.raises(ServeError, match="deploy --all` exited with 1"):
        serve.start_local_prefect(log_dir=tmp_path, api_url=fake_api.url)
    assert [child.name for child in spawned] == ["prefect-worker", "prefect-deploy"]
    assert all(child.process.poll() is not None for child in spawned)


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
    stack = _stack(tmp_path)
    stack.children += [_sleeper(tmp_path, "server"), _sleeper(tmp_path, "worker", "pass")]
    with pytest.raises(ServeError, match="worker exited with 0"):
        _run_until_stopped(stack)
    stack.stop(grace=2)
    assert stack.first_exit() is not None and stack.pids() == []


# `phasegate serve` on a stack of stand-in processes: what Ctrl-C does to them.
SERVE_ON_SLEEPERS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from phasegate import cli_serve, processes, serve

    def start(*, log_dir, **_):
        stack = serve.LocalPrefect("http://127.0.0.1:9/api", {}, log_dir)
        for name in ("server", "worker"):
            args = [sys.executable, "-c", "import time; time.sleep(60)"]
            stack.children.append(processes.spawn(name, args, {}, log_dir))
        print("pids:", *stack.pids(), flush=True)
        return stack

    cli_serve.start_local_prefect = start
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
