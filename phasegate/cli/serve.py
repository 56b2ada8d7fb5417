"""The `phasegate serve` command: a local Prefect server, the deployments and a worker."""

import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from phasegate.cli.app import app
from state.errors import InputError, ServeError

if TYPE_CHECKING:
    from phasegate.serve import LocalPrefect


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _api_url(port: int, no_server: bool) -> str | None:
    """The API to use (PREFECT_API_URL, or `phasegate server`'s), or None to start a server."""
    from phasegate.background_server import running_server
    from phasegate.processes import port_in_use
    from state.settings import get_settings

    existing = os.environ.get("PREFECT_API_URL")
    if existing:
        return existing
    if (running := running_server(get_settings().data_dir)) is not None:
        return running.api_url
    if no_server:
        raise InputError("--no-server: set PREFECT_API_URL to the Prefect API to use")
    if port_in_use(port):
        raise InputError(
            f"--port {port}: something already listens there; if it is a Prefect server, "
            f"set PREFECT_API_URL=http://127.0.0.1:{port}/api to use it"
        )
    return None


def _run_until_stopped(stack: "LocalPrefect") -> None:
    """Wait until Ctrl-C (or SIGTERM), or until a process of the stack stops by itself."""
    while (reason := stack.first_exit()) is None:
        time.sleep(0.5)
    raise ServeError(f"stopping everything: {reason}")


@app.command("serve")
def serve_command(
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="port of the Prefect server to start")
    ] = 4200,
    no_server: Annotated[
        bool, typer.Option("--no-server", help="use the server at PREFECT_API_URL")
    ] = False,
    webhook: Annotated[
        bool, typer.Option("--webhook/--no-webhook", help="also run the webhook API")
    ] = False,
    webhook_port: Annotated[
        int, typer.Option(min=1, max=65535, help="port of the webhook API")
    ] = 8787,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="process workers on the phasegate pool")
    ] = 1,
    worker_limit: Annotated[
        int, typer.Option(min=1, max=100, help="flow runs each worker starts at a time")
    ] = 4,
) -> None:
    """Run the deployments locally: Prefect server, work pool, deployments and a worker."""
    # Imported here, as in every command: only what this command needs (see the package).
    from phasegate.serve import start_local_prefect
    from state.settings import get_settings

    api_url = _api_url(port, no_server)
    log_dir = get_settings().data_dir / "serve"
    # Also SIGINT: a shell starts background commands with it ignored, and `kill -INT` should
    # stop them like Ctrl-C does in a terminal.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    typer.echo("starting…" if api_url else f"starting a Prefect server on 127.0.0.1:{port}…")
    stack = start_local_prefect(
        log_dir=log_dir,
        port=port,
        api_url=api_url,
        webhook_port=webhook_port if webhook else None,
        workers=workers,
        worker_limit=worker_limit,
    )
    server = _register_own_server(stack) if api_url is None else None
    runner = None
    try:
        runner = _start_runner()
        _print_stack(stack, log_dir, worker_limit, webhook_port if webhook else None)
        _run_until_stopped(stack)
    except KeyboardInterrupt:
        typer.echo("stopping…")
    finally:
        if runner is not None:
            from phasegate.warm_process import stop_runner

            stop_runner(get_settings().data_dir)
        stack.stop()
        if server is not None:
            from phasegate.background_server import forget

            forget(get_settings().data_dir, server)
    typer.echo("stopped")


def _start_runner() -> dict | None:
    """Start the warm runner for flow commands unless one runs; its record if this started it."""
    from phasegate.warm_process import start_runner
    from state.settings import get_settings

    runner, how = start_runner(get_settings().data_dir, "phasegate serve", detached=False)
    if runner is None:
        typer.echo(f"warm runner: none ({how})")
        return None
    typer.echo(f"warm runner:  pid {runner['pid']} ({how}), for check, monitor, build, ...")
    return runner if how == "started" else None


def _print_stack(
    stack: "LocalPrefect", log_dir: Path, worker_limit: int, webhook_port: int | None
) -> None:
    """Where everything the stack runs is: UI, API, deployments, workers, webhooks, logs."""
    from phasegate.prefect_api import POOL

    typer.echo(f"Prefect UI:   {stack.ui_url}")
    typer.echo(f"API:          {stack.api_url}  (export PREFECT_API_URL={stack.api_url})")
    typer.echo(
        "deployments:  check-phase/phase-check, sweep/sweep, monitor/monitor, "
        "watch-retirements/retirement-watch, poll-batches/batch-poller, roll-outs/rollouts, "
        "roll-out/rollout"
    )
    names = ", ".join(stack.worker_names)
    typer.echo(f"workers:      {names}, polling pool {POOL!r}, {worker_limit} runs each")
    if webhook_port is not None:
        typer.echo(f"webhook API:  http://127.0.0.1:{webhook_port}")
    typer.echo(f"logs:         {log_dir}/")
    typer.echo("Ctrl-C stops the workers, then the server.")


def _register_own_server(stack: "LocalPrefect") -> int | None:
    """Record the server this `serve` started, so that CLI commands use it; its pid."""
    from datetime import UTC, datetime

    from phasegate.background_server import ServerRecord, register
    from state.settings import get_settings

    child = next((child for child in stack.children if child.name == "prefect-server"), None)
    if child is None:
        return None
    record = ServerRecord(
        api_url=stack.api_url,
        pid=child.pid,
        log=str(child.log),
        started_at=datetime.now(UTC),
        started_by="phasegate serve",
    )
    register(get_settings().data_dir, record)
    return child.pid
