"""Two `phasegate webhook` processes on one store: what one took is a replay for the other."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phasegate.processes import free_port
from phasegate.signing import signed_request
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import ONE_COUNT, SECRET, USAGE

STARTUP_SECONDS = 90.0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(name="two_servers")
def two_servers_fixture(any_store_settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    """Two `phasegate webhook` processes serving the store of `any_store_settings`."""
    env = os.environ | {
        "PHASEGATE_DATA_DIR": str(any_store_settings.data_dir),
        "PHASEGATE_DATABASE_URL": any_store_settings.store_url,
        "PHASEGATE_WEBHOOK_SECRET": SECRET,
    }
    servers, urls = [], []
    for number in range(2):
        port = free_port()
        with (tmp_path / f"server-{number}.log").open("w") as log:
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-c", "from phasegate.cli import main; main()"]
                    + ["webhook", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not all(_healthy(url) for url in urls):
            assert all(server.poll() is None for server in servers), "a server exited"
            assert time.monotonic() < deadline, "the servers did not start in time"
            time.sleep(0.2)
        yield urls
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)


def test_request_taken_by_one_process_is_401_at_the_other_and_writes_nothing(
    two_servers: list[str], any_store_settings: Settings
) -> None:
    first, second = two_servers
    body, headers = signed_request(SECRET, "POST", USAGE, ONE_COUNT)
    assert httpx.post(first + USAGE, content=body, headers=headers).status_code == 200
    before = webhook_client.snapshot(any_store_settings)
    for url in (second, first):
        response = httpx.post(url + USAGE, content=body, headers=headers)
        assert (response.status_code, response.json()["error"]["code"]) == (401, "replayed")
    assert webhook_client.snapshot(any_store_settings) == before
