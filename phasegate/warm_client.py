"""The `phasegate` command's side of the warm runner: hand a flow command to it, if one fits.

Imported before anything heavy (no typer, Prefect or store): a command that runs flows is sent,
with this process's environment, working directory and standard streams, to the warm runner
that `phasegate server start` or `phasegate serve` keeps for the data dir (see
`phasegate.warm_runner`). It answers with the pid of the child that runs the command, then its
exit status. Ctrl-C and SIGTERM are passed on to that child; if this process dies, the runner
kills the child. When no runner fits (none recorded or alive; another interpreter, project,
PREFECT_* variables or PYTHONPATH; a Prefect configuration file in the working directory),
`run_in_warm_runner` returns None and the command runs in this process, as without a runner.
"""

import json
import os
import signal
import socket
import sys
from collections.abc import Iterator, Mapping

RECORD = "warm-runner.json"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The commands that enter `prefect_api()`: only they gain from a warm Prefect.
FLOW_COMMANDS = {
    ("approve",),
    ("build",),
    ("check",),
    ("hybrid",),
    ("monitor",),
    ("reject",),
    ("models", "check"),
    ("rollout", "abort"),
    ("rollout", "analyse"),
    ("rollout", "promote"),
}
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
ANSWER_SECONDS = 10.0
MAX_LINE = 1 << 16


def runs_flows(args: list[str]) -> bool:
    """Whether `phasegate ARGS` is a command that runs flows (and not a request for help)."""
    if "--help" in args:
        return False
    return tuple(args[:1]) in FLOW_COMMANDS or tuple(args[:2]) in FLOW_COMMANDS


def import_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What the runner's imports read once: PREFECT_* (Prefect's settings) and PYTHONPATH."""
    return {
        key: value
        for key, value in environ.items()
        if key.startswith("PREFECT_") or key == "PYTHONPATH"
    }


def prefect_config_file(directory: str) -> str | None:
    """A file of `directory` that Prefect reads settings from (at import), or None."""
    marks = {".env": "prefect_", "prefect.toml": "", "pyproject.toml": "tool.prefect"}
    for name, mark in marks.items():
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                if mark in file.read().lower():
                    return path
        except OSError:
            continue
    return None


def record_path(data_dir: str) -> str:
    """Where the warm runner of a data dir is recorded."""
    return os.path.join(data_dir, RECORD)


def _data_dir() -> str | None:
    """The data dir as the settings give it, or None when only the full settings can say."""
    from state.store_location import store_location  # os, pathlib, dataclasses (dotenv: .env)

    location = store_location()
    return None if location is None else os.path.abspath(location.data_dir)


def fitting_runner() -> dict | None:
    """The recorded warm runner if this process may use it; None otherwise."""
    data_dir = _data_dir()
    if data_dir is None:
        return None
    try:
        with open(record_path(data_dir), encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    fits = (
        isinstance(record, dict)
        and record.get("executable") == sys.executable
        and record.get("root") == ROOT
        and record.get("import_env") == import_environment(os.environ)
        and prefect_config_file(os.getcwd()) is None
    )
    return record if fits else None


def _send(connection: socket.socket, args: list[str]) -> None:
    streams = [(s.encoding, s.errors) if s else None for s in (sys.stdin, sys.stdout, sys.stderr)]
    fields = {"argv": args, "env": dict(os.environ), "cwd": os.getcwd(), "streams": streams}
    request = json.dumps(fields).encode()
    socket.send_fds(connection, [len(request).to_bytes(4, "big") + request], [0, 1, 2])


def _lines(connection: socket.socket) -> Iterator[dict]:
    buffer = b""
    while True:
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)
        chunk = connection.recv(4096)
        if not chunk or len(buffer) > MAX_LINE:
            return
        buffer += chunk


def _start(record: dict, args: list[str]) -> tuple[socket.socket, Iterator[dict], int] | None:
    """Connect, send the command and read the child's pid; None if the runner does not answer."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(ANSWER_SECONDS)
        connection.connect(record["socket"])
        _send(connection, args)
        answers = _lines(connection)
        pid = next(answers, {}).get("pid")
        if not isinstance(pid, int):
            raise ValueError("no child")
        connection.settimeout(None)
        return connection, answers, pid
    except (OSError, ValueError, TypeError, KeyError):
        connection.close()
        return None


def run_in_warm_runner(args: list[str]) -> int | None:
    """Run `phasegate ARGS` in the warm runner; its exit code, or None to run it here."""
    if not runs_flows(args) or (record := fitting_runner()) is None:
        return None
    started = _start(record, args)
    if started is None:
        return None
    connection, answers, pid = started
    sys.stderr.write(
        f"Phasegate: runs in the warm runner of `{record.get('started_by', 'phasegate server')}` "
        f"(pid {pid})\n"
    )

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    try:
        status = next(answers, {}).get("status")
    except (OSError, ValueError):
        status = None
    finally:
        connection.close()
    if not isinstance(status, int):
        sys.stderr.write("error: the warm runner stopped while the command ran\n")
        return 1
    return status
