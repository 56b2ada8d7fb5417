"""Run the deployments on a local Prefect: server, work pool, deployments, worker, webhooks."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from phasegate.prefect_api import (
    POOL,
    api_url_for,
    call_api,
    ensure_work_pool,
    wait_until_healthy,
)
from phasegate.processes import STOP_GRACE_SECONDS, Child, descendants, free_port, spawn, stop_child
from state.errors import ServeError

# Defaults for the stack's processes (the caller's environment wins): no telemetry, and no
# CancelledError tracebacks from a server stopped while it flushes events.
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL"}
SERVER_START_SECONDS = 90.0
EXISTING_API_SECONDS = 10.0
DEPLOY_SECONDS = 180.0
WORKER_START_SECONDS = 60.0
# Flow runs one worker starts at a time. Without a limit the first worker to poll claims every
# queued run (12 of 12 with two workers); with one, queued checks spread over the workers.
WORKER_LIMIT = 4


def prefect_args(*args: str) -> list[str]:
    """The command line of a Prefect CLI command in this interpreter."""
    return [sys.executable, "-m", "prefect", *args]


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
    name: str = field(default_factory=lambda: f"phasegate-{uuid.uuid4().hex[:8]}")
    worker_names: list[str] = field(default_factory=list)

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

    def launch(
        self, *, webhook_port: int | None = None, workers: int = 1, worker_limit: int = WORKER_LIMIT
    ) -> Child:
        """Start the workers and `prefect deploy --all` side by side (and the webhook API).

        Each worker has a name of its own (`<stack>-<n>`) and starts at most `worker_limit`
        flow runs at a time. Returns the deploy process, for `wait_ready`.
        """
        for number in range(1, workers + 1):
            name = f"{self.name}-{number}"
            self.worker_names.append(name)
            self._spawn(
                f"prefect-worker-{number}" if workers > 1 else "prefect-worker",
                prefect_args(
                    *("worker", "start", "--pool", POOL, "--type", "process", "--name", name),
                    *("--limit", str(worker_limit)),
                ),
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
        """Wait for the deployments to be applied and every worker to poll the pool."""
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
            if not (silent := self._workers_not_polling()):
                return
            if time.monotonic() > deadline:
                raise ServeError(
                    f"worker {', '.join(silent)} did not poll pool {POOL!r} within "
                    f"{worker_timeout:.0f} s"
                )
            time.sleep(0.25)

    def _workers_not_polling(self) -> list[str]:
        """The names of this stack's workers that the pool has not heard from yet."""
        try:
            status, found = call_api(self.api_url, "POST", f"/work_pools/{POOL}/workers/filter", {})
        except OSError:
            return self.worker_names  # the API is restarting or busy; the deadline bounds it
        polled = {w["name"] for w in found} if status == 200 else set()
        return [name for name in self.worker_names if name not in polled]

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
    workers: int = 1,
    worker_limit: int = WORKER_LIMIT,
) -> LocalPrefect:
    """Start (or use, given `api_url`) a server, then the pool, the deployments and workers.

    On any failure, or Ctrl-C, what was started is stopped before the error propagates.
    """
    stack = LocalPrefect.start(log_dir=log_dir, port=port, api_url=api_url, env=env)
    try:
        launched = stack.launch(
            webhook_port=webhook_port, workers=workers, worker_limit=worker_limit
        )
        stack.wait_ready(launched)
    except BaseException:
        stack.stop()
        raise
    return stack
