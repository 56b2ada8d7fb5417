"""`phasegate server start|stop|status`: one Prefect server in the background for every command."""

from typing import Annotated

import typer

from phasegate.cli.app import AsJson, app, console, print_json

server_app = typer.Typer(
    help="A Prefect server kept running for the CLI (instead of a temporary one per command).",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")


def _show(record: object, as_json: bool, line: str, runner: dict | None = None) -> None:
    from phasegate.cli.outputs import ServerOutput

    if as_json:
        print_json(ServerOutput.of(record, runner))
    else:
        console.print(line, soft_wrap=True)


@server_app.command("start")
def server_start(
    port: Annotated[int, typer.Option(min=1, max=65535, help="port on 127.0.0.1")] = 4200,
    as_json: AsJson = False,
) -> None:
    """Start a Prefect server in the background (or say which one runs already)."""
    from phasegate.background_server import start_server
    from phasegate.warm_process import start_runner
    from state.settings import get_settings

    data_dir = get_settings().data_dir
    record, started = start_server(data_dir, port)
    runner, how = start_runner(data_dir, "phasegate server", detached=True)
    verb = "started" if started else "already running"
    _show(
        record,
        as_json,
        f"Prefect server {verb}: {record.ui_url} (pid {record.pid}, log {record.log}); "
        f"commands without PREFECT_API_URL use it\n{_runner_line(runner, how)}",
        runner,
    )


def _runner_line(runner: dict | None, how: str) -> str:
    if runner is None:
        return f"warm runner: none ({how}); flow commands import Prefect themselves"
    return (
        f"warm runner {how}: pid {runner['pid']}, {runner['socket']}; flow commands "
        "(check, monitor, build, ...) run in it when their PREFECT_* variables match"
    )


@server_app.command("stop")
def server_stop(as_json: AsJson = False) -> None:
    """Stop the background Prefect server (its runs and approvals stay in its database)."""
    from phasegate.background_server import stop_server
    from phasegate.warm_process import stop_runner
    from state.settings import get_settings

    data_dir = get_settings().data_dir
    record = stop_server(data_dir)
    runner = stop_runner(data_dir)
    line = f"stopped the Prefect server at {record.ui_url}" if record else "no server was running"
    if runner is not None:
        line += f"; stopped the warm runner (pid {runner['pid']})"
    _show(None, as_json, line)


@server_app.command("status")
def server_status(as_json: AsJson = False) -> None:
    """Say whether a background Prefect server runs, and where."""
    from phasegate.background_server import running_server
    from phasegate.warm_process import running_runner
    from state.settings import get_settings

    data_dir = get_settings().data_dir
    record = running_server(data_dir)
    line = (
        f"running: {record.ui_url} (pid {record.pid}, {record.started_by}, log {record.log})"
        if record
        else "not running; commands start a temporary server (`phasegate server start`)"
    )
    runner = running_runner(data_dir)
    line += "\n" + _runner_line(runner, "running" if runner else "not running")
    _show(record, as_json, line, runner)
