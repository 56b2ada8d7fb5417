"""Services the demo runs beside itself: the sandbox provider and the webhook API."""

import contextvars
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from phasegate.webhooks import create_app
from state.settings import Settings


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


@contextmanager
def sandbox(job_seconds: float = 3.0) -> Iterator[str]:
    """Run the sandbox as its own process (reached over HTTP only); yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--job-seconds", str(job_seconds)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/v1/models", 30)
        yield f"{url}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def webhook_api(settings: Settings) -> Iterator[str]:
    """Serve the webhook API in a thread; yield its root URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    # A copied context: requests see the caller's Prefect API (a context setting).
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(server.run,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/healthz", 30)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
