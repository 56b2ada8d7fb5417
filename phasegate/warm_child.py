"""The warm runner's forked child: take over the client's process and run its command.

`become_child` never returns into the runner's loop: it closes what the runner holds, resets
the signals to their defaults, takes the client's fds 0-2, environment, working directory and
arguments, runs the `phasegate` application and exits with its code.
"""

import atexit
import os
import signal
import sys
import time
from typing import NoReturn

from phasegate.processes import die_with_parent


def _take_streams(encodings: list[list[str] | None]) -> None:
    """sys.stdin/stdout/stderr as the client's: its encodings; line-buffered on a terminal."""
    streams = (sys.stdin, sys.stdout, sys.stderr)
    for stream, given in zip(streams, encodings, strict=False):
        if given is not None and [stream.encoding, stream.errors] != list(given):
            try:
                stream.reconfigure(encoding=given[0], errors=given[1])
            except (OSError, ValueError, LookupError):
                pass  # a pipe that cannot seek to switch: the runner's encoding stays
    sys.stdout.reconfigure(line_buffering=os.isatty(1))
    sys.stderr.reconfigure(line_buffering=True)


def recolour_consoles() -> None:
    """Let the log handlers' rich consoles (Prefect's) choose colours for the client's stderr.

    They chose at import, for the runner's stderr (a log file: none). Rebuilding Prefect's
    logging would cost 0.07 s of CPU per command; rich's own detection is what they ran.
    """
    import logging

    for handler in logging.getLogger().handlers:
        console = getattr(handler, "console", None)
        if console is not None and hasattr(console, "_detect_color_system"):
            console._color_system = console._detect_color_system()


def run_command(request: dict, fds: list[int]) -> int:
    """In the forked child: become the client's process and run the `phasegate` application."""
    for fd, target in zip(fds, (0, 1, 2), strict=True):
        os.dup2(fd, target)
        os.close(fd)
    _take_streams(request.get("streams", []))
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()  # local time as the client's TZ says
    os.chdir(request["cwd"])
    recolour_consoles()
    sys.argv = ["phasegate", *request["argv"]]
    from state.settings import get_settings

    get_settings.cache_clear()
    from phasegate.cli.exits import run  # the application, every command registered

    return run(request["argv"])


def become_child(request: dict, fds: list[int], keep_closed: list) -> NoReturn:
    """The forked child: never returns into the runner's loop."""
    code = 1
    try:
        for thing in keep_closed:
            thing.close()
        die_with_parent()  # with the runner, as with the client
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = run_command(request, fds)
    except KeyboardInterrupt:
        code = 130
    except BaseException as exc:  # noqa: BLE001 - the child's edge: report and exit
        import traceback

        traceback.print_exception(exc)
    finally:
        try:
            atexit._run_exitfuncs()  # what a process of its own runs at exit
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
