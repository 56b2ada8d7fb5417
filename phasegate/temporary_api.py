"""A Prefect API for one CLI command: the configured one, a running one, else a temporary one.

In that order: `PREFECT_API_URL`; the server `phasegate server start` (or `phasegate serve`)
keeps running, recorded in the data dir; a temporary server of our own for this command. The
command says on stderr which of the last two it uses. Prefect's own temporary server outlives a
CLI process killed with SIGKILL (it is re-parented to PID 1); ours is the same uvicorn app,
started with `die_with_parent`, so it goes with the command however the command ends.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _server_args(port: int) -> list[str]:
    import prefect

    return [
        *(sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent)),
        *("--factory", "prefect.server.api.server:create_app"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"),
    ]


def _send_pending_events() -> None:
    """Deliver this process's queued events while the server still runs.

    An events worker left holding events for a stopped server retries it, with warnings, in
    whatever the process does next (the next command's server listens on another port).
    """
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=5)


def _say(line: str) -> None:
    """Tell the person (stderr, so that stdout stays one JSON document with --json)."""
    sys.stderr.write(f"{line}\n")


@contextmanager
def prefect_api() -> Iterator[None]:
    """Use PREFECT_API_URL, else the background server, else a temporary server for the block."""
    # Imported here: command modules import this one for --help, which needs none of it.
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from phasegate.background_server import running_server
    from phasegate.prefect_api import api_url_for, wait_until_healthy
    from phasegate.processes import Child, die_with_parent, free_port
    from state.settings import get_settings

    if PREFECT_API_URL.value():
        yield
        return
    if (running := running_server(get_settings().data_dir)) is not None:
        _say(f"Prefect: the server at {running.ui_url} ({running.started_by})")
        with temporary_settings(updates={PREFECT_API_URL: running.api_url}):
            try:
                yield
            finally:
                _send_pending_events()
        return
    _say("Prefect: a temporary server for this command (`phasegate server start` keeps one)")
    settings, port = get_current_settings(), free_port()
    env = {
        **os.environ,
        **settings.to_environment_variables(exclude_unset=True),
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    log = Path(settings.home) / "phasegate-temporary-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        server = subprocess.Popen(
            _server_args(port),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    try:
        timeout = settings.server.ephemeral.startup_timeout_seconds
        wait_until_healthy(api_url_for(port), timeout, Child("prefect server", server, log))
        with temporary_settings(updates={PREFECT_API_URL: api_url_for(port)}):
            try:
                yield
            finally:
                _send_pending_events()
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
