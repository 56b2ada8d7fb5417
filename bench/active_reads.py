"""Benchmark: signed reads of /active during a rollout (targets ≥ 1,000 reads/s, p99 < 50 ms).

.venv/bin/python bench/active_reads.py [--seconds 20] [--connections 16] [--workers 2]
    [--weight 10] [--rate 1000] [--client wrk|python]

Serves the webhook API as `phasegate webhook --workers N` does (uvicorn, N processes sharing one
port, a SQLite store in a temporary directory) in a subprocess, with a use case whose candidate
is in a rollout at `--weight` per cent, and reads `GET /v1/usecases/{uc}/active?key=K` from
several keep-alive connections, each read with a fresh random routing key and signed (Standard
Webhooks): one round flat out (the throughput), then one paced at `--rate` reads/s (the latency
at the target's rate). The load comes from `wrk` (a C client, `apt-get install wrk`) when it is
on the PATH: this process signs 4,096 header sets first (a GET signs its method and path, not
its key, and a GET's `webhook-id` is not reserved, so reads may reuse them; their timestamps
stay within the 5-minute window for rounds of up to 120 s) and `bench/active_reads.lua` cycles
through them. Without wrk, Python threads in this process sign and read flat out, and take CPU
from the server: the output says which client ran. Prints reads/s, p50/p99, the server's CPU
per read, the canary's share of the keys against the weight, the ratios to the targets, and the
load average at the start and at the end.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from active_client import Reads, python_reads  # siblings: run this as bench/active_reads.py
from serving import cpu_pressure, cpu_seconds, free_port, wait_healthy

from phasegate.signing import new_secret, signed_headers, target
from state.domain import ConfigurationDraft, DecisionDraft, RolloutDraft
from state.phases import DecisionKind, Phase
from state.spec import LoadedSpec, UseCaseSpec
from state.spec_rollout import RolloutStep
from state.store_api import Store

TARGET_RPS = 1000.0
TARGET_P99_MS = 50.0
SECRET = new_secret()
USE_CASE = "bench-active"
PATH = f"/v1/usecases/{USE_CASE}/active"
LUA = Path(__file__).with_suffix(".lua")
SIGNED_SETS = 4096
# Two rounds read with header sets signed before the first: both end in the 300 s window.
MAX_ROUND_SECONDS = 120
SERVE = (
    "from phasegate.webhook_server import serve_webhooks; from state.settings import get_settings;"
    " serve_webhooks(get_settings(), host='127.0.0.1', port={port}, workers={workers})"
)


@dataclass
class Round:
    """One round of reading: its rate (0: flat out), what was read, the server's CPU seconds."""

    rate: float
    reads: Reads
    cpu: float

    @property
    def name(self) -> str:
        """`flat out` or `paced at 1,000 reads/s`."""
        return f"paced at {self.rate:,.0f} reads/s" if self.rate else "flat out"

    @property
    def rps(self) -> float:
        """Reads per second achieved."""
        return self.reads.count / self.reads.seconds


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


def _sign_header_sets(tmp: Path) -> Path:
    """A file of pre-signed header sets for the Lua script, one a line, tab-separated."""
    signed = tmp / "signed.tsv"
    with signed.open("w") as out:
        for n in range(SIGNED_SETS):
            headers = signed_headers(SECRET, target("GET", PATH).encode(), webhook_id=f"msg_{n}")
            out.write("\t".join(headers.values()) + "\n")
    return signed


def _wrk_reads(wrk: str, port: int, args: argparse.Namespace, signed: Path, rate: float) -> Reads:
    """Read with wrk (one thread) through the Lua script, at `rate` reads/s (0: flat out)."""
    command = [wrk, "-t1", f"-c{args.connections}", f"-d{args.seconds:g}s", "-s", str(LUA)]
    command += [f"http://127.0.0.1:{port}", "--", PATH, str(signed), f"{rate:g}"]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    arms = {arm: figures[arm] for arm in ("control", "canary") if figures[arm]}
    failures = {"non-200": figures["refused"], "socket": figures["socket_errors"]}
    return Reads(
        count=figures["requests"],
        seconds=figures["seconds"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        arms=arms,
        failures={kind: n for kind, n in failures.items() if n},
    )


def _serve(tmp: str, workers: int) -> tuple[subprocess.Popen, int]:
    """Start the webhook server on the store in `tmp`; return it and its port once it answers."""
    port = free_port()
    env = os.environ | {"PHASEGATE_DATA_DIR": tmp, "PHASEGATE_WEBHOOK_SECRET": SECRET}
    env.pop("PHASEGATE_DATABASE_URL", None)
    with (Path(tmp) / "server.log").open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE.format(port=port, workers=workers)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    wait_healthy(port, server)
    return server, port


def _rounds(
    wrk: str | None, server: subprocess.Popen, port: int, args: argparse.Namespace, tmp: Path
) -> list[Round]:
    """Read flat out, then (with wrk) at `--rate`; each round with the server's CPU."""
    if wrk is None:
        before = cpu_seconds(server.pid)
        reads = python_reads(port, PATH, SECRET, args.connections, args.seconds)
        return [Round(0.0, reads, cpu_seconds(server.pid) - before)]
    signed = _sign_header_sets(tmp)
    rounds = []
    for rate in (0.0, args.rate):
        before = cpu_seconds(server.pid)
        reads = _wrk_reads(wrk, port, args, signed, rate)
        rounds.append(Round(rate, reads, cpu_seconds(server.pid) - before))
    return rounds


def main() -> None:
    """Serve, read, and print throughput, latency, the split and the ratios to the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="webhook processes")
    parser.add_argument("--weight", type=float, default=10.0, help="the canary's per cent")
    parser.add_argument("--rate", type=float, default=TARGET_RPS, help="the paced round's reads/s")
    parser.add_argument("--client", choices=["wrk", "python"], help="default: wrk if installed")
    args = parser.parse_args()
    wrk = shutil.which("wrk") if args.client != "python" else None
    if args.client == "wrk" and wrk is None:
        raise SystemExit("wrk is not on the PATH (apt-get install wrk)")
    if args.seconds > MAX_ROUND_SECONDS:
        raise SystemExit(f"--seconds: at most {MAX_ROUND_SECONDS} (signatures last 5 minutes)")
    load, pressure = os.getloadavg(), cpu_pressure()
    with tempfile.TemporaryDirectory() as tmp:
        _start_rollout(f"sqlite:///{tmp}/phasegate.db", args.weight)
        server, port = _serve(tmp, args.workers)
        try:
            rounds = _rounds(wrk, server, port, args, Path(tmp))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    client = "wrk (C, one thread)" if wrk else "Python threads in this process"
    client += " (wrk absent)" if wrk is None and args.client is None else ""
    _report(rounds, args, client, load, pressure)


def _report(
    rounds: list[Round],
    args: argparse.Namespace,
    client: str,
    load: tuple[float, ...],
    pressure: str,
) -> None:
    """Print each round's throughput, latency, CPU per read and split, the load and the ratios."""
    print(
        f"signed reads of /active over {args.connections} connections to {args.workers} webhook "
        f"process(es), canary at {args.weight:g} %, {args.seconds:g} s per round; client: {client}"
    )
    print(
        f"load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min), "
        f"at end {os.getloadavg()[0]:.2f}, on {os.cpu_count()} cores; CPU pressure at start "
        f"{pressure}"
    )
    for round_ in rounds:
        reads, answered = round_.reads, sum(round_.reads.arms.values())
        share = 100 * reads.arms.get("canary", 0) / answered if answered else 0.0
        server_us = round_.cpu / reads.count * 1e6
        print(
            f"{round_.name}: {reads.count:,} reads, {round_.rps:,.0f} reads/s; latency p50 "
            f"{reads.p50_ms:.1f} ms, p99 {reads.p99_ms:.1f} ms; server CPU {server_us:,.0f} µs "
            f"per read; canary {share:.1f} % of keys (weight {args.weight:g} %); refused "
            f"{reads.failures or 'none'}"
        )
    flat_out, timed = rounds[0], rounds[-1]
    print(
        f"ratio to ≥ {TARGET_RPS:,.0f} reads/s: {flat_out.rps / TARGET_RPS:.2f} "
        f"({flat_out.name}; ≥ 1.00 passes)"
    )
    print(
        f"ratio to p99 < {TARGET_P99_MS:.0f} ms: {timed.reads.p99_ms / TARGET_P99_MS:.2f} "
        f"({timed.name}; < 1.00 passes)"
    )
    if any(round_.reads.failures for round_ in rounds):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
