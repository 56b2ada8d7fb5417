"""The Prefect REST API as `phasegate serve` uses it: health and the work pool."""

import json
import time
import urllib.error
import urllib.request
from typing import Any

from phasegate.processes import Child
from state.errors import PrefectUnavailable, ServeError

POOL = "phasegate"


def api_url_for(port: int) -> str:
    """The API URL of a Prefect server on this port of the loopback interface."""
    return f"http://127.0.0.1:{port}/api"


def call_api(api_url: str, method: str, path: str, body: object = None) -> tuple[int, Any]:
    """Send one JSON request to the Prefect API; the status and the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{api_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def require_api(api_url: str) -> None:
    """Raise PrefectUnavailable, naming the URL, unless the Prefect API answers its health check."""
    try:
        status, _ = call_api(api_url, "GET", "/health")
    except OSError as exc:
        raise PrefectUnavailable(f"the Prefect API at {api_url} cannot be reached: {exc}") from exc
    if status != 200:
        raise PrefectUnavailable(f"the Prefect API at {api_url}: GET /health answered {status}")


def wait_until_healthy(api_url: str, timeout: float, server: Child | None = None) -> None:
    """Wait for `GET /api/health`; raises ServeError if the server dies or stays silent."""
    deadline = time.monotonic() + timeout
    while True:
        if server is not None and (reason := server.exited()):
            raise ServeError(f"the Prefect server did not start: {reason}")
        try:
            if call_api(api_url, "GET", "/health")[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise ServeError(f"{api_url}/health did not answer within {timeout:.0f} s")
        time.sleep(0.2)


def ensure_work_pool(api_url: str, name: str = POOL) -> bool:
    """Create the `process` work pool if it is missing; True when it was created."""
    # Imported here: prefect takes seconds to import, and only this step needs it.
    from prefect.workers.process import ProcessWorker

    if call_api(api_url, "GET", f"/work_pools/{name}")[0] == 200:
        return False
    pool = {
        "name": name,
        "type": "process",
        "description": "Phasegate flows as local subprocesses",
        "base_job_template": ProcessWorker.get_default_base_job_template(),
    }
    status, _ = call_api(api_url, "POST", "/work_pools/", pool)
    if status not in (200, 201, 409):  # 409: another process created it meanwhile
        raise ServeError(f"{api_url}: creating work pool {name!r} answered {status}")
    return status != 409
