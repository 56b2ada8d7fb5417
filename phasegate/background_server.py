"""A Prefect server kept running for CLI commands: `phasegate server start|stop|status`.

A command that runs flows needs a Prefect API. With `PREFECT_API_URL` unset it starts a
temporary server of its own (6–15 s, and about half of a check's CPU); a server started once in
the background is reused by every later command instead, as is `phasegate serve`'s. Which one
runs is written to `$PHASEGATE_DATA_DIR/prefect-server.json`: its API URL, process id and log.
"""

import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from phasegate.prefect_api import api_url_for, call_api, wait_until_healthy
from phasegate.processes import Child, alive, descendants, port_in_use
from phasegate.serve import QUIET, SERVER_START_SECONDS, prefect_args
from state.errors import InputError

RECORD = "prefect-server.json"
STOP_SECONDS = 10.0


class ServerRecord(BaseModel):
    """A Prefect server that CLI commands reuse: where it answers and which process it is."""

    api_url: str
    pid: int
    log: str
    started_at: datetime
    started_by: Literal["phasegate server", "phasegate serve"]

    @property
    def ui_url(self) -> str:
        """The Prefect UI of this server."""
        return self.api_url.removesuffix("/api")


def record_path(data_dir: Path) -> Path:
    """Where the record of the background server is kept."""
    return data_dir / RECORD


def _read(data_dir: Path) -> ServerRecord | None:
    try:
        return ServerRecord.model_validate_json(record_path(data_dir).read_text())
    except (OSError, ValidationError):
        return None


def _healthy(api_url: str) -> bool:
    try:
        return call_api(api_url, "GET", "/health")[0] == 200
    except OSError:
        return False


def running_server(data_dir: Path) -> ServerRecord | None:
    """The recorded server if its process runs and its API answers; None otherwise."""
    record = _read(data_dir)
    if record is None or not alive(record.pid) or not _healthy(record.api_url):
        return None
    return record


def register(data_dir: Path, record: ServerRecord) -> None:
    """Record a running server for later commands (written whole, never half)."""
    path = record_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(record.model_dump_json(indent=2))
    partial.replace(path)


def forget(data_dir: Path, pid: int) -> None:
    """Remove the record if it still names process `pid`."""
    record = _read(data_dir)
    if record is not None and record.pid == pid:
        record_path(data_dir).unlink(missing_ok=True)


def start_server(data_dir: Path, port: int) -> tuple[ServerRecord, bool]:
    """Start `prefect server start` on 127.0.0.1:`port`, detached; reuse one that runs.

    Returns the record and whether this call started it. The server outlives the command (a
    session of its own, no parent-death signal) until `stop_server`.
    """
    if (running := running_server(data_dir)) is not None:
        return running, False
    if port_in_use(port):
        raise InputError(
            f"--port {port}: something already listens there; if it is a Prefect server, "
            f"set PREFECT_API_URL=http://127.0.0.1:{port}/api to use it"
        )
    log = data_dir / "server" / "prefect-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    args = prefect_args("server", "start", "--host", "127.0.0.1", "--port", str(port))
    with log.open("ab") as out:
        process = subprocess.Popen(
            args,
            env={**QUIET, **os.environ},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A shell starts background jobs with SIGINT ignored; give the server the default.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    url = api_url_for(port)
    try:
        wait_until_healthy(url, SERVER_START_SECONDS, Child("prefect server", process, log))
    except BaseException:
        _terminate(process.pid)
        raise
    record = ServerRecord(
        api_url=url,
        pid=process.pid,
        log=str(log),
        started_at=datetime.now(UTC),
        started_by="phasegate server",
    )
    register(data_dir, record)
    return record, True


def _terminate(pid: int) -> None:
    """SIGTERM a server and what it started; SIGKILL what still runs after STOP_SECONDS."""
    family = [pid, *descendants(pid)]
    for member in family:
        try:
            os.kill(member, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_SECONDS
    while any(alive(member) for member in family) and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it when it is this process's child
        except ChildProcessError:
            pass
        time.sleep(0.1)
    for member in family:
        if alive(member):
            os.kill(member, signal.SIGKILL)


def stop_server(data_dir: Path) -> ServerRecord | None:
    """Stop the server `start_server` started; None when none was running.

    A server that `phasegate serve` runs is left alone: stop `serve` itself.
    """
    record = _read(data_dir)
    if record is None or not alive(record.pid):
        record_path(data_dir).unlink(missing_ok=True)
        return None
    if record.started_by != "phasegate server":
        raise InputError(
            f"the Prefect server at {record.api_url} belongs to `phasegate serve` "
            f"(pid {record.pid}); stop it there (Ctrl-C)"
        )
    _terminate(record.pid)
    record_path(data_dir).unlink(missing_ok=True)
    return record
