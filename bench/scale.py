"""Benchmark: a provider-bound sweep on one worker, then on two (target ≥ 1.7×); the idle sweep.

.venv/bin/python bench/scale.py [--use-cases 6] [--items 40] [--concurrency 1]
    [--latency-ms 500] [--worker-limit 1] [--idle 1000] [--database-url postgresql://...]

Provider-bound: the sandbox answers each chat call after `--latency-ms` (500 ms) and spends
little CPU on it, and each check sends its calls one at a time (PHASEGATE_CONCURRENCY=1), so
a check waits items × 0.5 s (20 s) on the provider, against a few seconds of CPU for its
process (imports, Prefect) — on a shared 2-core machine the CPU must stay well below the wait
for a second worker to pay. The use cases are new (bench/sweep.py's
generator), so the sweep holds none of them itself: it starts one run of the `phase-check`
deployment per use case (`run_deployment`, timeout 0) and each run baselines its use case.

For 1 and then 2 workers: a fresh stack as `phasegate serve --workers N --worker-limit K`
starts it (phasegate.serve: `prefect server start`, `prefect deploy --all`, N process workers
of K runs each), Prefect's database and the store each on a new PostgreSQL database (SQLite
stalls under concurrent runs), the sweep run here. The wall time runs from the sweep's start
until every check run it started is final. Printed: wall times, the speedup, provider calls
(the sandbox's count), which worker started each run (the workers' Prefect events), and "one
decision per use case" (from the store: exactly one decision, `baselined`, per use case).

Last, the idle sweep: `bench/sweep.py --use-cases N --spread-only` (its own server and
sandbox, no latency), whose lines are printed as they come: seconds per idle use case and
check flow runs started for them.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sweep import generate, provider_calls  # a sibling script: run this one as bench/scale.py

from phasegate import demo_services, serve
from state.settings import get_settings
from state.spec import load_spec
from state.store_api import Store

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = "check-phase/phase-check"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
TARGET_SPEEDUP = 1.7
RUNS_SECONDS = 900


def check_runs(api: httpx.Client) -> list[dict]:
    """Every run of the phase-check deployment."""
    deployment = api.get(f"/deployments/name/{DEPLOYMENT}").raise_for_status().json()
    query = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}, "limit": 200}
    return api.post("/flow_runs/filter", json=query).raise_for_status().json()


def submitted_by(api: httpx.Client, since: datetime) -> Counter:
    """Flow runs submitted per worker, from the workers' own `submitted-flow-run` events."""
    query = {
        "filter": {
            "event": {"name": ["prefect.worker.submitted-flow-run"]},
            "occurred": {"since": since.isoformat()},
        },
        "limit": 50,  # the API's most per page; more runs than that: the first 50
    }
    events = api.post("/events/filter", json=query).raise_for_status().json()["events"]
    return Counter(event["resource"]["prefect.resource.name"] for event in events)


def wait_final(api: httpx.Client, count: int) -> list[dict]:
    """The deployment's runs once `count` of them exist and all are final."""
    deadline = time.monotonic() + RUNS_SECONDS
    while time.monotonic() < deadline:
        runs = check_runs(api)
        if len(runs) >= count and all(run["state"]["type"] in FINAL for run in runs):
            return runs
        time.sleep(0.5)
    sys.exit(f"the check runs did not finish within {RUNS_SECONDS} s")


def one_sweep(workers: int, options: argparse.Namespace, sandbox: str, pg: str) -> float:
    """A fresh stack with `workers` workers; sweep new use cases; print and return the wall."""
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.sweep import sweep

    with (
        tempfile.TemporaryDirectory(prefix="phasegate-bench-scale-") as tmp,
        Store.on_new_database(pg) as store,
        Store.on_new_database(pg) as prefect_db,
    ):
        root = Path(tmp)
        env = {
            "PHASEGATE_DATA_DIR": str(root / "data"),
            "PHASEGATE_DATABASE_URL": store.url,
            "PHASEGATE_BASE_URL": f"{sandbox}/v1",
            "PHASEGATE_CONCURRENCY": str(options.concurrency),
        }
        os.environ.update(env)
        get_settings.cache_clear()
        specs = generate(root / "usecases", options.use_cases, options.items)
        store.apply_specs([load_spec(path) for path in specs])
        names = [load_spec(path).spec.name for path in specs]
        stack = serve.LocalPrefect.start(
            log_dir=root / "logs",
            env={
                **env,
                "PREFECT_HOME": str(root / "prefect"),
                "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.url.replace(
                    "postgresql://", "postgresql+asyncpg://", 1
                ),
                "PREFECT_WORKER_QUERY_SECONDS": "1",
                "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            },
        )
        try:
            stack.wait_ready(stack.launch(workers=workers, worker_limit=options.worker_limit))
            api = httpx.Client(base_url=stack.api_url, timeout=60)
            calls = provider_calls(sandbox)
            with temporary_settings({PREFECT_API_URL: stack.api_url}):
                started, since = time.perf_counter(), datetime.now(UTC)
                outcomes = sweep()
                runs = wait_final(api, sum(1 for o in outcomes.values() if o == "Started"))
                wall = time.perf_counter() - started
                EventsWorker.drain_all(timeout=30)
            report(workers, options, wall, runs, provider_calls(sandbox) - calls)
            print(f"  runs started per worker:   {dict(submitted_by(api, since))}")
            decisions = {name: [d.kind for d in store.list_decisions(name)] for name in names}
            once = all(kinds == ["baselined"] for kinds in decisions.values())
            print(f"  one decision per use case: {'yes' if once else 'no'}")
            if not once:
                print(f"    {decisions}")
            api.close()
        finally:
            stack.stop()
            store.close()
    return wall


def report(workers: int, options: argparse.Namespace, wall: float, runs: list, calls: int) -> None:
    """Print one sweep's figures."""
    states = Counter(run["state"]["type"] for run in runs)
    bound = -(-options.items // options.concurrency) * options.latency_ms / 1000
    print(f"\n{workers} worker(s), {options.worker_limit} runs each at a time")
    print(f"  check runs:                {len(runs)} ({dict(states)})")
    print(
        f"  sweep wall time:           {wall:8.1f} s  "
        f"(a check waits ≥ {bound:.1f} s on the provider)"
    )
    print(f"  provider calls:            {calls:8d}")


def main() -> None:
    """The two provider-bound sweeps, then the idle sweep."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-cases", type=int, default=6)
    parser.add_argument("--items", type=int, default=40, help="eval items per use case")
    parser.add_argument("--concurrency", type=int, default=1, help="provider calls at a time")
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--worker-limit", type=int, default=1, help="flow runs per worker")
    parser.add_argument("--idle", type=int, default=1000, help="idle use cases (0: skip)")
    parser.add_argument(
        "--database-url", default=os.environ.get("PHASEGATE_TEST_POSTGRES_URL"), help="PostgreSQL"
    )
    options = parser.parse_args()
    if not options.database_url:
        sys.exit("needs PostgreSQL: --database-url or PHASEGATE_TEST_POSTGRES_URL")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average at the start: {load} on {os.cpu_count()} cores")
    os.environ.update({**serve.QUIET, "PREFECT_LOGGING_LEVEL": "WARNING"})
    with demo_services.sandbox() as base_url:
        sandbox = base_url.removesuffix("/v1")
        httpx.post(f"{sandbox}/sandbox/faults", json={"latency_ms": options.latency_ms})
        walls = [one_sweep(workers, options, sandbox, options.database_url) for workers in (1, 2)]
    speedup = walls[0] / walls[1]
    print(f"\nspeedup, 2 workers over 1: {speedup:.2f}× (target ≥ {TARGET_SPEEDUP}×)")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average after the sweeps: {load}")
    if options.idle:
        print(f"\nidle sweep: bench/sweep.py --use-cases {options.idle} --spread-only")
        idle = [sys.executable, str(ROOT / "bench" / "sweep.py"), "--spread-only"]
        subprocess.run([*idle, "--use-cases", str(options.idle)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
