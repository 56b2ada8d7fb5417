"""What the end-to-end tests share: waiting on a probe, and a client that retries Prefect's 503."""

import time
from collections.abc import Callable
from typing import Any

import httpx


class RetryBusyTransport(httpx.HTTPTransport):
    """Retry what the Prefect API answers with 503, as Prefect's own client and UI do.

    The server's SQLite can be busy while the worker and the flow run write (SQLITE_BUSY):
    Prefect then rolls the request back and answers 503 "Service Unavailable", retryable.
    """

    RETRIES = 5

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        for retry in range(1, self.RETRIES + 1):
            if response.status_code != 503:
                break
            response.close()
            time.sleep(0.5 * retry)
            response = super().handle_request(request)
        return response


def wait_for(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)
    return value
