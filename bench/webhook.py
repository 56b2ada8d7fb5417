"""Benchmark: signed usage reports over loopback (targets ≥ 1,000 req/s, p99 < 50 ms, 0 lost).

.venv/bin/python bench/webhook.py [--seconds 20] [--connections 8] [--workers N] [--postgres URL]

Serves the webhook API as `phasegate webhook` does (uvicorn, `--workers` processes sharing one
port, SQLite store in a temporary directory, or a temporary database on the PostgreSQL server
of `--postgres`, dropped afterwards) in a subprocess; this process posts one signed usage count
per request from several keep-alive connections, each request a distinct (day, source) under
its own `webhook-id`, then checks that every accepted count is in the store, and that every
accepted request left exactly one `webhook-id` there.
"""

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from serving import (  # a sibling: run bench/webhook.py
    cpu_seconds,
    free_port,
    percentile,
    wait_healthy,
)

from phasegate.signing import new_secret, signed_request
from state.spec import LoadedSpec, UseCaseSpec
from state.store_api import Store

TARGET_RPS = 1000.0
TARGET_P99_MS = 50.0
SECRET = new_secret()
USE_CASE = "bench-usage"
FIRST_DAY = date(2000, 1, 1)
SERVE = (
    "from phasegate.webhook_server import serve_webhooks; from state.settings import get_settings;"
    " serve_webhooks(get_settings(), host='127.0.0.1', port={port}, workers={workers})"
)


@dataclass
class Tally:
    """What one connection sent and what the server accepted."""

    latencies_ms: list[float] = field(default_factory=list)
    accepted_rows: int = 0
    accepted_sum: int = 0
    failures: dict[int, int] = field(default_factory=dict)


def _register(url: str) -> None:
    """Migrate the store at `url` and register the benchmark's use case."""
    spec = UseCaseSpec(
        name=USE_CASE,
        task="qa",
        metric="token_f1",
        data={"eval": "eval.jsonl"},
        prompts=[{"name": "zero-shot", "kind": "zero_shot"}],
    )
    store = Store(url)
    store.apply_specs([LoadedSpec(spec=spec, path=Path("/bench/spec.yaml"))])
    store.close()


@contextmanager
def _store(tmp: str, postgres: str | None) -> Iterator[str]:
    """A store URL: SQLite in `tmp`, or a new database on the `postgres` server, dropped after."""
    if postgres is None:
        yield f"sqlite:///{tmp}/phasegate.db"
        return
    with Store.on_new_database(postgres) as store:
        yield store.url


def _post_usage(port: int, worker: int, deadline: float, tally: Tally) -> None:
    """Post one count per request until `deadline`, each for a day no one else reports."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    path = f"/v1/usecases/{USE_CASE}/usage"
    sequence = 0
    while time.monotonic() < deadline:
        count = 1 + (worker * 7919 + sequence) % 5000
        # Days stay within the accepted window: a new source every thousand days.
        day = FIRST_DAY + timedelta(days=sequence % 1000)
        item = {"day": day.isoformat(), "count": count, "source": f"c{worker}-{sequence // 1000}"}
        body, headers = signed_request(SECRET, "POST", path, {"counts": [item]})
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status == 200:
            tally.accepted_rows += 1
            tally.accepted_sum += count
        else:
            tally.failures[response.status] = tally.failures.get(response.status, 0) + 1
        sequence += 1
    connection.close()


def _stored(url: str) -> tuple[int, int, int]:
    """Rows and summed counts in the usage table, and the webhook-ids kept."""
    store = Store(url)
    totals = store.intake_totals()
    store.close()
    return totals.usage_rows, totals.usage_total, totals.deliveries


def main() -> None:
    """Serve, load, verify, and print throughput, latency and the ratios to the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="webhook processes")
    parser.add_argument("--postgres", help="PostgreSQL server URL (the targets are for SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _store(tmp, args.postgres) as url:
        _register(url)
        print(f"store: {'PostgreSQL' if args.postgres else 'SQLite'}")
        port = free_port()
        env = os.environ | {"PHASEGATE_DATA_DIR": tmp, "PHASEGATE_WEBHOOK_SECRET": SECRET}
        env.pop("PHASEGATE_DATABASE_URL", None)
        if args.postgres:
            env["PHASEGATE_DATABASE_URL"] = url
        log = Path(tmp) / "server.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [sys.executable, "-c", SERVE.format(port=port, workers=args.workers)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_healthy(port, server)
            tallies = [Tally() for _ in range(args.connections)]
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=_post_usage, args=(port, i, deadline, tally))
                for i, tally in enumerate(tallies)
            ]
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            cpu = (cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        _report(tallies, elapsed, cpu, (args.connections, args.workers), _stored(url))


def _report(
    tallies: list[Tally],
    elapsed: float,
    cpu: tuple[float, float],
    shape: tuple[int, int],
    stored: tuple[int, int, int],
) -> None:
    """Print throughput, latency, CPU per request, what was lost, and the ratios to targets."""
    (connections, workers), (rows, total, ids) = shape, stored
    latencies = [ms for tally in tallies for ms in tally.latencies_ms]
    accepted_rows = sum(tally.accepted_rows for tally in tallies)
    accepted_sum = sum(tally.accepted_sum for tally in tallies)
    failures: dict[int, int] = {}
    for tally in tallies:
        for status, n in tally.failures.items():
            failures[status] = failures.get(status, 0) + n
    rps = len(latencies) / elapsed
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    lost_rows, lost_sum = accepted_rows - rows, accepted_sum - total
    print(
        f"{len(latencies):,} requests in {elapsed:.1f} s over {connections} connections "
        f"to {workers} webhook process(es)"
    )
    print(f"throughput {rps:,.0f} req/s; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    server_us, client_us = (seconds / len(latencies) * 1e6 for seconds in cpu)
    print(
        f"CPU per request: server {server_us:,.0f} µs (all processes; at most "
        f"{1e6 / server_us:,.0f} req/s per free core), client {client_us:,.0f} µs; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"webhook-ids kept {ids:,} (one per accepted request: {ids == accepted_rows})")
    print(f"accepted {accepted_rows:,} (sum {accepted_sum:,}); refused {failures or 'none'}")
    print(f"in the store {rows:,} rows (sum {total:,}); lost rows {lost_rows}, lost sum {lost_sum}")
    print(f"ratio to ≥ {TARGET_RPS:,.0f} req/s: {rps / TARGET_RPS:.2f} (≥ 1.00 passes)")
    print(f"ratio to p99 < {TARGET_P99_MS:.0f} ms: {p99 / TARGET_P99_MS:.2f} (< 1.00 passes)")
    print(f"lost: {lost_rows} rows ({'passes' if lost_rows == lost_sum == 0 else 'FAILS'})")
    if lost_rows or lost_sum or ids != accepted_rows:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
