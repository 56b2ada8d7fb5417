"""What the webhook benchmarks share: a free port, waiting for the server, CPU of a process tree.

Imported as a sibling (`from serving import …`): run the benchmarks as `bench/<name>.py`.
"""

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait until the server answers /healthz; exit if it dies or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the webhook server exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the webhook server did not answer /healthz in time")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live descendants (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cpu_pressure() -> str:
    """The share of time some runnable task waited for a CPU, over 10 s and 60 s (Linux PSI)."""
    try:
        fields = dict(
            item.split("=") for item in Path("/proc/pressure/cpu").read_text().split()[1:3]
        )
    except (OSError, ValueError):
        return "unknown (no /proc/pressure/cpu)"
    return f"{fields['avg10']} % (10 s), {fields['avg60']} % (60 s) of the time a task waited"
