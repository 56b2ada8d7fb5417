"""Pytest fixtures that serve the sandbox app on a free local port in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sandbox import SandboxConfig, create_app
from sandbox.state import SandboxState

#: Job duration used by the test server (statuses move every 20/20/60 % of it).
TEST_JOB_SECONDS = 0.3
#: Batch duration used by the test server (validating 10 %, answering to 90 %, finalizing).
TEST_BATCH_SECONDS = 0.4
STARTUP_TIMEOUT = 10.0


@dataclass
class SandboxServer:
    """A running sandbox: ``url`` is the OpenAI base url (``http://127.0.0.1:PORT/v1``)."""

    url: str
    root_url: str
    app: FastAPI
    server: uvicorn.Server

    @property
    def app_state(self) -> SandboxState:
        """Direct access to the app's mutable state (config, stats, files, jobs, models)."""
        return self.app.state.sandbox

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        """Call an admin endpoint such as ``("POST", "/sandbox/faults", {...})``."""
        response = httpx.request(method, self.root_url + path, json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, int]:
        """Current ``/sandbox/stats`` counters."""
        return self.admin("GET", "/sandbox/stats")

    def reset(self, everything: bool = False) -> None:
        """``POST /sandbox/reset`` (``everything=True`` also drops files, jobs and models)."""
        self.admin("POST", "/sandbox/reset", {"all": everything})


def dead_url() -> str:
    """An OpenAI base url on a loopback port that nothing listens on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _serve(config: SandboxConfig) -> Iterator[SandboxServer]:
    """Start uvicorn on a pre-bound socket, wait for ``/v1/models``, stop on exit."""
    app = create_app(config)
    # IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets whose proto is TCP;
    # without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
        backlog=2048,
    )
    server = uvicorn.Server(uv_config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            if httpx.get(f"{root}/v1/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.02)
    try:
        yield SandboxServer(url=f"{root}/v1", root_url=root, app=app, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """Session-wide sandbox server with ``job_seconds=TEST_JOB_SECONDS`` (and batch seconds)."""
    config = SandboxConfig(job_seconds=TEST_JOB_SECONDS, batch_seconds=TEST_BATCH_SECONDS)
    yield from _serve(config)


@pytest.fixture
def sandbox_url(sandbox_server: SandboxServer) -> Iterator[str]:
    """Reset counters/faults of the shared sandbox, yield its OpenAI base url, reset again."""
    sandbox_server.reset()
    yield sandbox_server.url
    sandbox_server.reset()
