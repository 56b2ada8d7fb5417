"""Fixtures of the end-to-end tests: the webhook API taking OpenAI's webhooks over HTTP."""

import contextvars
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from phasegate.signing import new_secret
from phasegate.webhooks import create_app
from state.settings import Settings, get_settings

#: The signing secret the sandbox and the webhook API share.
SECRET = new_secret()


@pytest.fixture(name="webhook_url")
def webhook_url_fixture(
    prefect_api: None, settings: Settings, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The webhook API on the test store, served over HTTP, taking OpenAI's webhooks."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    monkeypatch.setenv("PHASEGATE_OPENAI_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(get_settings()), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    # The copied context carries the session's Prefect API settings into the server's thread.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(server.run,), kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    while httpx.get(url + "/healthz").status_code != 200:  # answers once it listens
        time.sleep(0.05)
    yield url + "/v1/provider/openai"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
