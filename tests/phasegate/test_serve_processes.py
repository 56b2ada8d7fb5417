"""The child processes of `phasegate serve`: finding descendants and stopping them."""

import signal
import sys
import textwrap
import time
from pathlib import Path

from phasegate import processes
from tests.phasegate import serve_helpers

# A parent that starts a child in a session of its own, as the worker starts flow runs.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    print("pid", child.pid, flush=True)
    time.sleep(60)
    """
)


def test_descendants_finds_a_child_in_another_session(tmp_path: Path) -> None:
    parent = serve_helpers.sleeper(tmp_path, "parent", PARENT)
    try:
        grandchild = int(_wait_for_line(parent.log, "pid").split()[1])
        assert processes.descendants(parent.pid) == [grandchild]
    finally:
        processes.stop_child(parent, grace=1)


def test_stop_child_ends_the_child_and_its_descendants(tmp_path: Path) -> None:
    parent = serve_helpers.sleeper(tmp_path, "parent", PARENT)
    grandchild = int(_wait_for_line(parent.log, "pid").split()[1])
    processes.stop_child(parent, grace=2)
    assert parent.process.poll() is not None
    assert not processes.alive(grandchild)


def test_stop_child_kills_a_descendant_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('ignoring', flush=True); time.sleep(60)"
    )
    parent = serve_helpers.sleeper(
        tmp_path, "parent", PARENT.replace("import time; time.sleep(60)", stubborn)
    )
    grandchild = int(_wait_for_line(parent.log, "pid").split()[1])
    _wait_for_line(parent.log, "ignoring")
    processes.stop_child(parent, grace=0.5)
    assert not processes.alive(grandchild)


def test_stop_child_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = serve_helpers.sleeper(
        tmp_path,
        "stubborn",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True);"
        " time.sleep(60)",
    )
    _wait_for_line(stubborn.log)
    started = time.monotonic()
    processes.stop_child(stubborn, grace=0.5)
    assert stubborn.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 3


def test_stop_child_leaves_an_exited_child_alone(tmp_path: Path) -> None:
    done = serve_helpers.sleeper(tmp_path, "done", "pass")
    done.process.wait(timeout=10)
    processes.stop_child(done, grace=0.1)
    assert done.process.returncode == 0


def _wait_for_line(log: Path, containing: str = "", timeout: float = 15) -> str:
    """The first complete line of `log` that holds `containing`, once it is written."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines(keepends=True)
        found = [line for line in lines if line.endswith("\n") and containing in line]
        if found:
            return found[0].strip()
        assert time.monotonic() < deadline, f"no line with {containing!r} in {log}"
        time.sleep(0.02)


# Records the order in which processes get SIGTERM, then exits.
ON_SIGTERM = textwrap.dedent(
    """
    import signal, sys, time
    def note(*_):
        with open(sys.argv[1], "a") as out:
            out.write(sys.argv[2] + "\\n")
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, note)
    print(1, flush=True)
    time.sleep(60)
    """
)


def test_stack_stop_ends_the_last_started_first(tmp_path: Path) -> None:
    order = tmp_path / "order.txt"
    stack = serve_helpers.stack(tmp_path)
    for name in ("server", "worker"):
        args = [sys.executable, "-c", ON_SIGTERM, str(order), name]
        stack.children.append(processes.spawn(name, args, {}, tmp_path))
    for child in stack.children:
        _wait_for_line(child.log)
    stack.stop(grace=5)
    assert order.read_text().split() == ["worker", "server"]
