"""Processes of the local stack: each in a session of its own, stopped with all it started."""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 5.0


@dataclass
class Child:
    """A process started for the stack, in a session of its own, with the file of its output."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def exited(self) -> str | None:
        """Why the process is gone (its exit code and log), or None while it runs."""
        code = self.process.poll()
        return None if code is None else f"{self.name} exited with {code}; see {self.log}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    """Whether something already listens on this port of 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child between fork and exec: be killed when the parent dies, even by SIGKILL.

    Linux only (`prctl(PR_SET_PDEATHSIG)`, kept across exec); elsewhere a no-op. The signal
    follows the thread that forked, so children are started from the main thread.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> Child:
    """Start a process in a session of its own, so Ctrl-C reaches us and we stop it in order.

    It dies with us if we are killed (SIGKILL included) before we stop it.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    return Child(name, process, log)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, in whatever session (psutil: Linux, macOS, Windows)."""
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    """Whether a process with this id runs (a zombie does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's process (macOS hides their state): it exists


def _signal(pids: Iterable[int], signum: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _wait_gone(pids: list[int], deadline: float) -> None:
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_child(child: Child, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM a child and what it started; SIGKILL whatever still runs after `grace` s."""
    if child.process.poll() is not None:
        return  # its id may already belong to another process: touch nothing
    deadline = time.monotonic() + grace
    # Flow-run subprocesses sit in sessions of their own: signal them by id, not by group.
    family = descendants(child.pid)
    _signal([child.pid, *family], signal.SIGTERM)
    try:
        child.process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        family += [pid for pid in descendants(child.pid) if pid not in family]
        child.process.kill()
        child.process.wait(timeout=grace)
    _wait_gone(family, deadline)
    _signal([pid for pid in family if alive(pid)], signal.SIGKILL)
    _wait_gone(family, time.monotonic() + grace)
