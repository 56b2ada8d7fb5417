"""Start, find and stop the warm runner of a data dir (see `phasegate.warm_runner`)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from phasegate.processes import alive, die_with_parent
from phasegate.warm_client import ROOT, record_path

START_SECONDS = 60.0
STOP_SECONDS = 10.0
# Run this project's code whatever the working directory (the runner's is the data dir).
LAUNCH = f"import sys; sys.path.insert(0, {ROOT!r}); from phasegate.warm_runner import main; main()"


def running_runner(data_dir: Path) -> dict | None:
    """The recorded runner if its process runs and its socket is in place; None otherwise."""
    try:
        record = json.loads(Path(record_path(str(data_dir))).read_text())
        if alive(record["pid"]) and Path(record["socket"]).exists():
            return record
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def start_runner(data_dir: Path, started_by: str, *, detached: bool) -> tuple[dict | None, str]:
    """Start the runner (or find the one running); its record, or None and why it did not start.

    `detached`: it outlives this process (`phasegate server start`); otherwise it dies with it
    (`phasegate serve`, which stops it on the way out). Commands run in-process without it, so
    a runner that fails to start is reported, not raised.
    """
    if (running := running_runner(data_dir)) is not None:
        return running, "already running"
    log = data_dir / "server" / "warm-runner.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(data_dir.resolve()), started_by],
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A shell starts background jobs with SIGINT ignored; give the runner the default.
            preexec_fn=_detach if detached else die_with_parent,
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        record = running_runner(data_dir)
        if record is not None and record["pid"] == process.pid:
            return record, "started"
        if process.poll() is not None:
            return None, f"the warm runner exited with {process.returncode}; see {log}"
        time.sleep(0.1)
    _end(process.pid)
    return None, f"the warm runner was not ready within {START_SECONDS:.0f} s; see {log}"


def _detach() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _end(pid: int) -> None:
    """SIGTERM the runner; SIGKILL it after STOP_SECONDS."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_SECONDS
    while alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it when it is this process's child
        except ChildProcessError:
            pass
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.05)


def stop_runner(data_dir: Path) -> dict | None:
    """Stop the recorded runner (the commands it runs with it); None when none was running."""
    record = running_runner(data_dir)
    if record is not None:
        _end(record["pid"])
        Path(record["socket"]).unlink(missing_ok=True)  # gone already unless it was killed
    Path(record_path(str(data_dir))).unlink(missing_ok=True)
    return record
