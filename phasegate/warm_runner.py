"""The warm runner: a process that has imported Prefect and the flows once, and forks per command.

A command that runs flows spends about 3 s of CPU importing Prefect, the flows, the store and
openai before it does anything. The runner pays that once: `phasegate server start` and
`phasegate serve` start it (`phasegate.warm_process`: `main()` with DATA_DIR STARTED_BY); it imports
the heavy stack, listens on a unix socket next to `prefect-server.json` and records itself in
`warm-runner.json` (pid, socket, interpreter, project, PREFECT_* and PYTHONPATH). For each
connection (see `phasegate.warm_client`) it receives the command line, environment, working
directory and the client's fds 0, 1 and 2, and forks a child that takes them over and runs the
`phasegate` application, as the command would have in a process of its own. It sends the
client the child's pid, then its exit status (128 + signal for a child a signal ended); a client
that goes away (Ctrl-C, SIGKILL) has its child killed.

Before forking the runner stays single-threaded and opens no event loop, database engine, HTTP
or Prefect client; it does not import `phasegate.cli` (its console reads the terminal at
import) nor read the settings (cached): the child does both, with the client's environment.
Prefect reads its settings at import, so the runner imports it in the data dir (no Prefect
configuration file there) and is used only by clients with the same PREFECT_* variables
(and PYTHONPATH, for the same imports).
"""

import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from phasegate import warm_child
from phasegate.warm_client import ROOT, import_environment, record_path
from phasegate.warm_socket import listen, same_user, socket_path

REQUEST_SECONDS = 5.0
MAX_REQUEST = 1 << 22
# What a flow command imports, found by comparing sys.modules before and after a real check;
# importing these pulls in the rest (pydantic, httpx, SQLAlchemy, numpy, ...).
PRELOAD = (
    "typer.main",
    "typer._click",
    "fastapi.applications",
    "fastapi.security",
    "fastapi.openapi.utils",
    "starlette.staticfiles",
    "opentelemetry.metrics",
    "pydantic.color",
    "rich.console",
    "rich._emoji_codes",
    "encodings.idna",
    "encodings.utf_8_sig",
    "openai",
    "httpcore2",
    "truststore",
    "anyio._backends._asyncio",
    "numpy",
    "graphviz",
    "prefect",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.client.orchestration",
    "prefect.events.worker",
    "prefect.logging.handlers",
    "prefect.input.run_input",
    "prefect.artifacts",
    "prefect.concurrency.sync",
    "prefect.utilities.visualization",
    "state.settings",
    "state.store_api",
    "tasks.llm",
    "flows.phase_check",
    "flows.monitoring",
    "flows.hybrid",
    "flows.rag",
    "flows.prompting",
    "flows.fine_tuning",
    "flows.rollout",
    "flows.retirement",
    "phasegate.report_format",
    "phasegate.temporary_api",
    "phasegate.background_server",
)


def _log(line: str) -> None:
    """One line in the runner's log (its stderr)."""
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


def preload() -> list[str]:
    """Import the heavy stack; the names that failed to import (a missing optional extra)."""
    missing = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


@dataclass
class Job:
    """One command: the client's connection and the child that runs it."""

    connection: socket.socket
    pid: int
    pidfd: int
    open: bool = True


def _read_request(connection: socket.socket) -> tuple[dict, list[int]]:
    """The client's request (argv, env, cwd) and its fds 0, 1, 2."""
    connection.settimeout(REQUEST_SECONDS)
    data, fds, _flags, _address = socket.recv_fds(connection, 1 << 16, 3)
    if len(data) < 4 or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("malformed request")
    size = int.from_bytes(data[:4], "big")
    if size > MAX_REQUEST:
        raise ValueError("request too large")
    body = data[4:]
    while len(body) < size:
        chunk = connection.recv(size - len(body))
        if not chunk:
            raise ValueError("truncated request")
        body += chunk
    connection.settimeout(None)
    return json.loads(body), fds


def exit_code(status: int) -> int:
    """A child's exit code as a shell gives it: 128 + the signal for a child a signal ended."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _reply(job: Job, message: dict) -> None:
    if job.open:
        try:
            job.connection.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            job.open = False


class Runner:
    """The listening socket, the running jobs and the loop that serves them."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, None)
        self.jobs: list[Job] = []

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        if not same_user(connection):
            _log("refused a connection from another user")
            connection.close()
            return
        try:
            request, fds = _read_request(connection)
        except (OSError, ValueError) as exc:
            _log(f"refused a request: {exc}")
            connection.close()
            return
        others = [self.listener, self.selector, *(job.connection for job in self.jobs)]
        pid = os.fork()
        if pid == 0:
            pidfds = [_PidFd(job.pidfd) for job in self.jobs]
            warm_child.become_child(request, fds, [*others, *pidfds, connection])
        for fd in fds:
            os.close(fd)
        job = Job(connection, pid, os.pidfd_open(pid))
        self.jobs.append(job)
        _reply(job, {"pid": pid})
        self.selector.register(connection, selectors.EVENT_READ, job)
        self.selector.register(job.pidfd, selectors.EVENT_READ, job)

    def _client_event(self, job: Job) -> None:
        """The client sent nothing more: it closed the connection, so its child must go."""
        try:
            data = job.connection.recv(1024)
        except OSError:
            data = b""
        if data:
            return
        self.selector.unregister(job.connection)
        job.open = False
        try:
            os.kill(job.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _child_exited(self, job: Job) -> None:
        _, status = os.waitpid(job.pid, 0)
        self.selector.unregister(job.pidfd)
        os.close(job.pidfd)
        _reply(job, {"status": exit_code(status)})
        if job.open:
            self.selector.unregister(job.connection)
        job.connection.close()
        self.jobs.remove(job)

    def serve_forever(self) -> None:
        """Serve connections until a signal ends the process."""
        while True:
            for key, _events in self.selector.select():
                job = key.data
                if job is None:
                    self._accept()
                elif key.fileobj is job.connection:
                    self._client_event(job)
                else:
                    self._child_exited(job)


class _PidFd:
    """A pidfd as something with a close(), for the child to close."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        os.close(self.fd)


def write_record(data_dir: Path, record: dict) -> None:
    """Record the runner for clients (written whole, never half)."""
    path = Path(record_path(str(data_dir)))
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(record, indent=2))
    partial.replace(path)


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    """`main DATA_DIR STARTED_BY`: import the stack, listen, record, serve until SIGTERM."""
    data_dir, started_by = Path(sys.argv[1]).resolve(), sys.argv[2]
    os.chdir(data_dir)  # Prefect reads the configuration files of its working directory
    missing = preload()
    if missing:
        _log(f"not preloaded (not installed): {', '.join(missing)}")
    if threading.active_count() != 1:
        sys.exit(f"an import started a thread ({threading.enumerate()}): forking is unsafe")
    gc.freeze()  # the imported objects stay shared with the children (copy-on-write)
    path = socket_path(data_dir)
    listener = listen(path)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    record = {
        "pid": os.getpid(),
        "socket": str(path),
        "executable": sys.executable,
        "root": ROOT,
        "import_env": import_environment(os.environ),
        "started_by": started_by,
        "started_at": datetime.now(UTC).isoformat(),
    }
    write_record(data_dir, record)
    try:
        Runner(listener).serve_forever()
    finally:
        listener.close()
        path.unlink(missing_ok=True)
        _forget(data_dir, os.getpid())


def _forget(data_dir: Path, pid: int) -> None:
    """Remove the record if it still names process `pid`."""
    path = Path(record_path(str(data_dir)))
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass
