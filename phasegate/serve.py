"""Run the deployments on a local Prefect: server, work pool, deployments, worker, webhooks."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from state.errors import PhasegateError

ROOT = Path(__file__).resolve().parent.parent
POOL = "phasegate"
PROC = Path("/proc")
# Defaults for the stack's processes (the caller's environment wins): no telemetry, and no
# CancelledError tracebacks from a server stopped while it flushes events.
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL"}
SERVER_START_SECONDS = 90.0
EXISTING_API_SECONDS = 10.0
DEPLOY_SECONDS = 180.0
WORKER_START_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0


class ServeError(PhasegateError):
    """Raised when a part of the local Prefect stack does not start; names the part and its log."""


@dataclass
class Child:
    """A process started for the stack, in a session of its own, with the file of its output."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def exited(self) -> str | None:
        """Why the process is gone (its exit code and log), or None while it runs."""
        code = self.process.poll()
        return None if code is None else f"{self.name} exited with {code}; see {self.log}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    """Whether something already listens on this port of 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def api_url_for(port: int) -> str:
    """The API URL of a Prefect server on this port of the loopback interface."""
    return f"http://127.0.0.1:{port}/api"


def spawn(name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> Child:
    """Start a process in a session of its own, so Ctrl-C reaches us and we stop it in order."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name, process, log)


def prefect_args(*args: str) -> list[str]:
    """The command line of a Prefect CLI command in this interpreter."""
    return [sys.executable, "-m", "prefect", *args]


def call_api(api_url: str, method: str, path: str, body: object = None) -> tuple[int, Any]:
    """Send one JSON request to the Prefect API; the status and the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{api_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def wait_until_healthy(api_url: str, timeout: float, server: Child | None = None) -> None:
    """Wait for `GET /api/health`; raises ServeError if the server dies or stays silent."""
    deadline = time.monotonic() + timeout
    while True:
        if server is not None and (reason := server.exited()):
            raise ServeError(f"the Prefect server did not start: {reason}")
        try:
            if call_api(api_url, "GET", "/health")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise ServeError(f"{api_url}/health did not answer within {timeout:.0f} s")
        time.sleep(0.2)


def ensure_work_pool(api_url: str, name: str = POOL) -> bool:
    """Create the `process` work pool if it is missing; True when it was created."""
    # Imported here: prefect takes seconds to import, and only this step needs it.
    from prefect.workers.process import ProcessWorker

    if call_api(api_url, "GET", f"/work_pools/{name}")[0] == 200:
        return False
    pool = {
        "name": name,
        "type": "process",
        "description": "Phasegate flows as local subprocesses",
        "base_job_template": ProcessWorker.get_default_base_job_template(),
    }
    status, _ = call_api(api_url, "POST", "/work_pools/", pool)
    if status not in (200, 201, 409):  # 409: another process created it meanwhile
        raise ServeError(f"{api_url}: creating work pool {name!r} answered {status}")
    return status != 409


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc; elsewhere none are found)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.glob("[0-9]*/stat") if PROC.is_dir() else []:
        try:
            # The command name in parentheses may hold spaces: the fields after it are fixed.
            parent = int(entry.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
        children.setdefault(parent, []).append(int(entry.parent.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def alive(pid: int) -> bool:
    """Whether a process with this id runs (a zombie does not)."""
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _signal(pids: Iterable[int], signum: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _wait_gone(pids: list[int], deadline: float) -> None:
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_child(child: Child, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM a child and what it started; SIGKILL whatever still runs after `grace` s."""
    if child.process.poll() is not None:
        return  # its id may already belong to another process: touch nothing
    deadline = time.monotonic() + grace
    # Flow-run subprocesses sit in sessions of their own: signal them by id, not by group.
    family = descendants(child.pid)
    _signal([child.pid, *family], signal.SIGTERM)
    try:
        child.process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        family += [pid for pid in descendants(child.pid) if pid not in family]
        child.process.kill()
        child.process.wait(timeout=grace)
    _wait_gone(family, deadline)
    _signal([pid for pid in family if alive(pid)], signal.SIGKILL)
    _wait_gone(family, time.monotonic() + grace)


@dataclass
class LocalPrefect:
    """A Prefect API with the processes started for it, in start order.

    `start()` brings up the server (unless given an API) and the work pool; `launch()` starts
    the worker, the deployment and optionally the webhook API; `wait_ready()` waits for both;
    `stop()` ends every process, the last started first. `start_local_prefect` does it all.
    """

    api_url: str
    env: dict[str, str]
    log_dir: Path
    children: list[Child] = field(default_factory=list)
    worker_name: str = field(default_factory=lambda: f"phasegate-{uuid.uuid4().hex[:8]}")

    @classmethod
    def start(
        cls,
        *,
        log_dir: Path,
        port: int | None = None,
        api_url: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> "LocalPrefect":
        """Start `prefect server start` on 127.0.0.1 (or use `api_url`), then the work pool.

        `env` is added to the environment of every process; flow runs inherit the worker's.
        """
        server_port = None if api_url else port or free_port()
        url = api_url or api_url_for(server_port)
        environment = {**QUIET, **os.environ, **(env or {}), "PREFECT_API_URL": url}
        stack = cls(url, environment, log_dir)
        try:
            server = None
            if server_port is not None:
                args = prefect_args("server", "start", "--host", "127.0.0.1")
                server = stack._spawn("prefect-server", [*args, "--port", str(server_port)])
            wait_until_healthy(
                url, EXISTING_API_SECONDS if server is None else SERVER_START_SECONDS, server
            )
            ensure_work_pool(url)
        except BaseException:
            stack.stop()
            raise
        return stack

    @property
    def ui_url(self) -> str:
        """Where the Prefect UI of this API is."""
        return self.api_url.removesuffix("/").removesuffix("/api")

    def _spawn(self, name: str, args: list[str]) -> Child:
        child = spawn(name, args, self.env, self.log_dir)
        self.children.append(child)
        return child

    def launch(self, *, webhook_port: int | None = None) -> Child:
        """Start the worker and `prefect deploy --all` side by side (and the webhook API).

        Returns the deploy process, for `wait_ready`.
        """
        self._spawn(
            "prefect-worker",
            prefect_args("worker", "start", "--pool", POOL, "--type", "process")
            + ["--name", self.worker_name],
        )
        deploying = self._spawn("prefect-deploy", prefect_args("--no-prompt", "deploy", "--all"))
        if webhook_port is not None:
            args = [sys.executable, "-c", "from phasegate.cli import main; main()", "webhook"]
            self._spawn("webhook", args + ["--host", "127.0.0.1", "--port", str(webhook_port)])
        return deploying

    def wait_ready(
        self,
        deploying: Child,
        deploy_timeout: float = DEPLOY_SECONDS,
        worker_timeout: float = WORKER_START_SECONDS,
    ) -> None:
        """Wait for the deployments to be applied and the worker to poll the pool."""
        try:
            code = deploying.process.wait(timeout=deploy_timeout)
        except subprocess.TimeoutExpired as exc:
            raise ServeError(
                f"`prefect deploy --all` took over {deploy_timeout:.0f} s; see {deploying.log}"
            ) from exc
        self.children.remove(deploying)
        if code != 0:
            raise ServeError(f"`prefect deploy --all` exited with {code}; see {deploying.log}")
        deadline = time.monotonic() + worker_timeout
        while True:
            if reason := self.first_exit():
                raise ServeError(f"a process of the stack stopped: {reason}")
            if self._worker_polled():
                return
            if time.monotonic() > deadline:
                raise ServeError(
                    f"worker {self.worker_name} did not poll pool {POOL!r} within "
                    f"{worker_timeout:.0f} s"
                )
            time.sleep(0.25)

    def _worker_polled(self) -> bool:
        try:
            status, found = call_api(self.api_url, "POST", f"/work_pools/{POOL}/workers/filter", {})
        except OSError:
            return False  # the API is restarting or busy; the deadline bounds the wait
        return status == 200 and any(w["name"] == self.worker_name for w in found)

    def first_exit(self) -> str | None:
        """Why the first process that stopped did so, or None while they all run."""
        return next((reason for child in self.children if (reason := child.exited())), None)

    def pids(self) -> list[int]:
        """The ids of the running processes and of everything they started."""
        running = [child.pid for child in self.children if child.process.poll() is None]
        return running + [pid for parent in running for pid in descendants(parent)]

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop every process, the last started first (webhook, worker, then the server)."""
        for child in reversed(self.children):
            stop_child(child, grace)


def start_local_prefect(
    *,
    log_dir: Path,
    port: int | None = None,
    api_url: str | None = None,
    webhook_port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> LocalPrefect:
    """Start (or use, given `api_url`) a server, then the pool, the deployments and a worker.

    On any failure, or Ctrl-C, what was started is stopped before the error propagates.
    """
    stack = LocalPrefect.start(log_dir=log_dir, port=port, api_url=api_url, env=env)
    try:
        stack.wait_ready(stack.launch(webhook_port=webhook_port))
    except BaseException:
        stack.stop()
        raise
    return stack
