"""The fallback load of bench/active_reads.py: Python threads reading /active, each read signed.

They run in the benchmark's process and take CPU from the server; wrk (a C client) does not.
"""

import http.client
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field

from serving import percentile

from phasegate.signing import signed_request


@dataclass
class Reads:
    """What a client read: how many in how long, the latency, the arms answered, the failures."""

    count: int
    seconds: float
    p50_ms: float
    p99_ms: float
    arms: dict[str, int]
    failures: dict[str, int]


@dataclass
class _Tally:
    latencies_ms: list[float] = field(default_factory=list)
    arms: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)


def _read(port: int, path: str, secret: str, deadline: float, tally: _Tally) -> None:
    """Read `path` with a fresh routing key and signature per request until `deadline`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < deadline:
        _, headers = signed_request(secret, "GET", path)
        started = time.perf_counter()
        connection.request("GET", f"{path}?key={uuid.uuid4().hex}", headers=headers)
        response = connection.getresponse()
        body = response.read()
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status == 200:
            arm = json.loads(body)["arm"]
            tally.arms[arm] = tally.arms.get(arm, 0) + 1
        else:
            status = str(response.status)
            tally.failures[status] = tally.failures.get(status, 0) + 1
    connection.close()


def python_reads(port: int, path: str, secret: str, connections: int, seconds: float) -> Reads:
    """Read from `connections` threads for `seconds`; their figures added up."""
    tallies = [_Tally() for _ in range(connections)]
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_read, args=(port, path, secret, deadline, tally))
        for tally in tallies
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies = [ms for tally in tallies for ms in tally.latencies_ms]
    arms: dict[str, int] = {}
    failures: dict[str, int] = {}
    for tally in tallies:
        for arm, n in tally.arms.items():
            arms[arm] = arms.get(arm, 0) + n
        for status, n in tally.failures.items():
            failures[status] = failures.get(status, 0) + n
    return Reads(
        count=len(latencies),
        seconds=elapsed,
        p50_ms=statistics.median(latencies),
        p99_ms=percentile(latencies, 0.99),
        arms=arms,
        failures=failures,
    )
