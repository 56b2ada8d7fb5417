"""Benchmark: signed reads of /active during a rollout (targets ≥ 1,000 reads/s, p99 < 50 ms).

.venv/bin/python bench/active_reads.py [--seconds 20] [--connections 8] [--workers 2] [--weight 10]

Serves the webhook API as `phasegate webhook --workers N` does (uvicorn, N processes sharing one
port, a SQLite store in a temporary directory) in a subprocess, with a use case whose candidate
is in a rollout at `--weight` per cent. This process reads `GET /v1/usecases/{uc}/active?key=K`
from several keep-alive connections, each read signed (Standard Webhooks) with a fresh random
routing key, and counts which arm answered. Prints reads/s, p50/p99, the server's CPU per read,
the canary's share of the keys against the weight, and the ratios to the targets.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from phasegate.signing import new_secret, signed_request
from state.domain import ConfigurationDraft, DecisionDraft, RolloutDraft
from state.phases import DecisionKind, Phase
from state.spec import LoadedSpec, UseCaseSpec
from state.spec_rollout import RolloutStep
from state.store_api import Store

TARGET_RPS = 1000.0
TARGET_P99_MS = 50.0
SECRET = new_secret()
USE_CASE = "bench-active"
SERVE = (
    "from phasegate.webhook_server import serve_webhooks; from state.settings import get_settings;"
    " serve_webhooks(get_settings(), host='127.0.0.1', port={port}, workers={workers})"
)


@dataclass
class Tally:
    """What one connection read: latencies, arms answered, failures by status."""

    latencies_ms: list[float] = field(default_factory=list)
    arms: dict[str, int] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)


def _free_port() -> int:
    """A loopback port nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_rollout(url: str, weight: float) -> None:
    """Register the use case, make a control active and roll a canary out at `weight` %."""
    spec = UseCaseSpec(
        name=USE_CASE,
        task="qa",
        metric="token_f1",
        data={"eval": "eval.jsonl"},
        prompts=[{"name": "zero-shot", "kind": "zero_shot"}],
    )
    store = Store(url)
    store.apply_specs([LoadedSpec(spec=spec, path=Path("/bench/spec.yaml"))])
    control, canary = (
        store.save_configuration(USE_CASE, ConfigurationDraft(phase=phase, model="sandbox-base"))
        for phase in (Phase.PROMPTING, Phase.RAG)
    )
    draft = DecisionDraft(
        kind=DecisionKind.BASELINED, to_phase=Phase.PROMPTING, configuration_id=control.id
    )
    version = store.require_use_case(USE_CASE).version
    store.record_check(USE_CASE, draft, expected_version=version, approval_status=None)
    steps = [RolloutStep(weight=weight, min_interactions=100)]
    rollout = RolloutDraft(to_phase=Phase.RAG, canaries={"canary": canary.id}, steps=steps)
    store.start_rollout(USE_CASE, rollout)


def _wait_healthy(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
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


def _read_active(port: int, deadline: float, tally: Tally) -> None:
    """Read /active with a fresh routing key per request until `deadline`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    path = f"/v1/usecases/{USE_CASE}/active"
    while time.monotonic() < deadline:
        _, headers = signed_request(SECRET, "GET", path)
        started = time.perf_counter()
        connection.request("GET", f"{path}?key={uuid.uuid4().hex}", headers=headers)
        response = connection.getresponse()
        body = response.read()
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status == 200:
            arm = json.loads(body)["arm"]
            tally.arms[arm] = tally.arms.get(arm, 0) + 1
        else:
            tally.failures[response.status] = tally.failures.get(response.status, 0) + 1
    connection.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live descendants (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Serve, read, and print throughput, latency, the split and the ratios to the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="webhook processes")
    parser.add_argument("--weight", type=float, default=10.0, help="the canary's per cent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _start_rollout(f"sqlite:///{tmp}/phasegate.db", args.weight)
        port = _free_port()
        env = os.environ | {"PHASEGATE_DATA_DIR": tmp, "PHASEGATE_WEBHOOK_SECRET": SECRET}
        env.pop("PHASEGATE_DATABASE_URL", None)
        with (Path(tmp) / "server.log").open("w") as log_file:
            server = subprocess.Popen(
                [sys.executable, "-c", SERVE.format(port=port, workers=args.workers)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_healthy(port, server)
            tallies = [Tally() for _ in range(args.connections)]
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=_read_active, args=(port, deadline, tally))
                for tally in tallies
            ]
            server_cpu = _cpu_seconds(server.pid)
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            cpu = _cpu_seconds(server.pid) - server_cpu
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    _report(tallies, elapsed, cpu, args)


def _report(tallies: list[Tally], elapsed: float, cpu: float, args: argparse.Namespace) -> None:
    """Print throughput, latency, CPU per read, the canary's share, and the ratios."""
    latencies = [ms for tally in tallies for ms in tally.latencies_ms]
    arms: dict[str, int] = {}
    failures: dict[int, int] = {}
    for tally in tallies:
        for arm, n in tally.arms.items():
            arms[arm] = arms.get(arm, 0) + n
        for status, n in tally.failures.items():
            failures[status] = failures.get(status, 0) + n
    rps = len(latencies) / elapsed
    p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
    answered = sum(arms.values())
    share = 100 * arms.get("canary", 0) / answered if answered else 0.0
    print(
        f"{len(latencies):,} signed reads in {elapsed:.1f} s over {args.connections} "
        f"connections to {args.workers} webhook process(es), canary at {args.weight:g} %"
    )
    print(f"throughput {rps:,.0f} reads/s; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    server_us = cpu / len(latencies) * 1e6
    print(
        f"server CPU per read {server_us:,.0f} µs (all processes; at most "
        f"{1e6 / server_us:,.0f} reads/s per free core); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"arms {arms}; canary share {share:.1f} % of keys (weight {args.weight:g} %)")
    print(f"refused {failures or 'none'}")
    print(f"ratio to ≥ {TARGET_RPS:,.0f} reads/s: {rps / TARGET_RPS:.2f} (≥ 1.00 passes)")
    print(f"ratio to p99 < {TARGET_P99_MS:.0f} ms: {p99 / TARGET_P99_MS:.2f} (< 1.00 passes)")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
