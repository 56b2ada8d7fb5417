"""Benchmark: the sweep over 200 use cases of which none needs to move (< 0.5 s each, no call).

.venv/bin/python bench/sweep.py [--use-cases 200] [--items 20] [--spread-only]

Each generated use case is one a company would leave on prompting: already baselined, its
active configuration's eval run stored, its quality above the spec's target, so the RAG need
check holds it. Half are Q&A over a small FAQ written into the prompt (metric `contains`),
with the same FAQ as a document, so the data check passes and only the need check holds them;
half are classification by label words (metric `accuracy`) with no documents, like
feedback-triage. Every check therefore ends `held`, and nothing should reach the provider.

Runs on a real `prefect server start` (phasegate.serve, its own PREFECT_HOME in a temporary
directory) and the sandbox as a subprocess. Steps: apply the specs; one sweep that builds
the baselines (not timed); the timed sweep; a second timed sweep without flow-run heartbeats
(Prefect's ≈ 1 s per sync flow run joining its heartbeat thread) to show that share. It prints
per-use-case seconds against the 0.5 s target, provider calls (from /sandbox/stats), and where
the time of a check goes: inside its subflow's body (Running → Completed, from the Prefect
API) or around it (creating, starting and finishing the subflow run).

Last, the idle-sweep figure: with the phase-check deployment applied (no worker runs it), the
sweep holds idle use cases itself; it prints seconds per idle use case against the 0.1 s
target and the check flow runs started for them (target 0). `--spread-only` skips the two
in-turn sweeps.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from eval_throughput import sandbox  # a sibling script: run this one as bench/sweep.py

from phasegate import serve

TARGET_SECONDS = 0.5
IDLE_TARGET_SECONDS = 0.1
CALLS = ("chat_completions", "embeddings", "files_create", "jobs_create")
AREAS = ["billing", "shipping", "returns", "account", "security", "mobile"]
WORDS = {
    "billing": "charged twice invoice billing",
    "shipping": "parcel shipping courier late",
    "returns": "returns label refund package",
    "account": "account login profile email",
    "security": "security password breach alert",
    "mobile": "mobile app phone crashes",
}


def _qa(directory: Path, name: str, items: int) -> None:
    # Product codes like "p7" are single words, so each question matches one fact only.
    facts = [
        (f"What is the warranty period of product p{j} of {name}?", f"{12 + j} months")
        for j in range(items)
    ]
    sentences = [f"The warranty period of product p{j} is {a}." for j, (_, a) in enumerate(facts)]
    (directory / "docs").mkdir()
    (directory / "docs" / "faq.md").write_text("# Warranty\n\n" + "\n".join(sentences) + "\n")
    spec = {
        "name": name,
        "description": "warranty questions answered from a FAQ small enough for the prompt",
        "task": "qa",
        "metric": "contains",
        "data": {"eval": "eval.jsonl", "documents": "docs"},
        "prompts": [
            {
                "name": "faq-in-prompt",
                "kind": "zero_shot",
                "system": "Answer from the FAQ.\nContext:\n" + "\n".join(sentences),
                "template": "Question: {input}",
            }
        ],
        "gates": {"prompting_to_rag": {"target": 0.8, "floor": 0.5}},
    }
    eval_items = [{"id": f"q{j}", "input": q, "expected": a} for j, (q, a) in enumerate(facts)]
    _write(directory, spec, eval_items)


def _classification(directory: Path, name: str, items: int) -> None:
    spec = {
        "name": name,
        "description": "route support messages to a team by their words",
        "task": "classification",
        "metric": "accuracy",
        "data": {"eval": "eval.jsonl"},
        "prompts": [
            {
                "name": "labels",
                "kind": "zero_shot",
                "system": "Route the message to a team.\nLabels: " + ", ".join(AREAS),
                "template": "Input: {input}",
            }
        ],
        "gates": {"prompting_to_rag": {"target": 0.8, "floor": 0.5}},
    }
    eval_items = []
    for j in range(items):
        area = AREAS[j % len(AREAS)]
        text = f"Message {j} of {name}: {WORDS[area]}"
        eval_items.append({"id": f"m{j}", "input": text, "expected": area})
    _write(directory, spec, eval_items)


def _write(directory: Path, spec: dict, items: list[dict]) -> None:
    (directory / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (directory / "eval.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))


def generate(root: Path, count: int, items: int) -> list[Path]:
    """Write `count` use-case directories under `root`; every other one is Q&A."""
    paths = []
    for i in range(count):
        name = f"bench-{i:03d}"
        directory = root / name
        directory.mkdir(parents=True)
        (_qa if i % 2 == 0 else _classification)(directory, name, items)
        paths.append(directory / "spec.yaml")
    return paths


def provider_calls(root: str) -> int:
    """Calls the sandbox has served that a provider would bill or count."""
    stats = httpx.get(f"{root}/sandbox/stats", timeout=10).json()
    return sum(stats[key] for key in CALLS)


def body_seconds(api_url: str, parent_id: str) -> tuple[int, float]:
    """The check-phase subflow runs of a sweep run: how many, and their summed Running time."""
    runs, offset = [], 0
    while True:
        query = {
            "flow_runs": {"parent_flow_run_id": {"any_": [parent_id]}},
            "limit": 200,
            "offset": offset,
        }
        page = httpx.post(f"{api_url}/flow_runs/filter", json=query, timeout=30).json()
        runs += page
        offset += len(page)
        if len(page) < 200:
            break
    return len(runs), sum(run["total_run_time"] for run in runs)


def timed_sweep(api_url: str, sandbox_root: str, count: int, label: str) -> None:
    """Run `sweep()` once and print its figures."""
    from flows.sweep import sweep

    before = provider_calls(sandbox_root)
    started = time.perf_counter()
    state = sweep(return_state=True)
    wall = time.perf_counter() - started
    calls = provider_calls(sandbox_root) - before
    outcomes = state.result()
    held = sum(1 for name in outcomes.values() if name == "Held")
    runs, body = body_seconds(api_url, str(state.state_details.flow_run_id))
    per = wall / count
    print(f"\n{label}")
    print(f"  use cases held:            {held} / {count} ({set(outcomes.values())})")
    print(f"  sweep wall time:           {wall:8.1f} s")
    ratio = per / TARGET_SECONDS
    print(f"  per use case:              {per:8.3f} s  ({ratio:.2f} × the 0.5 s target)")
    print(f"  provider calls:            {calls:8d}    (target 0)")
    if runs:
        print(f"  subflow bodies (Running):  {body / runs:8.3f} s per check over {runs} runs")
        print(f"  around the bodies:         {per - body / runs:8.3f} s per check (subflow runs)")


def check_runs(api_url: str) -> int:
    """Flow runs of the check-phase flow on the API (subflows and deployment runs alike)."""
    query = {"flows": {"name": {"any_": ["check-phase"]}}}
    return httpx.post(f"{api_url}/flow_runs/count", json=query, timeout=30).json()


def spread_sweep(api_url: str, sandbox_root: str, count: int) -> None:
    """Run `sweep()` with the phase-check deployment applied; print the idle-sweep figure."""
    from flows.phase_check import check_phase
    from flows.sweep import sweep

    check_phase.to_deployment(name="phase-check").apply()
    runs, before = check_runs(api_url), provider_calls(sandbox_root)
    started = time.perf_counter()
    outcomes = sweep()
    wall = time.perf_counter() - started
    held = sum(1 for name in outcomes.values() if name == "Held")
    per = wall / count
    print("\nsweep with the phase-check deployment (idle use cases held in the sweep)")
    print(f"  use cases held:            {held} / {count} ({set(outcomes.values())})")
    print(f"  sweep wall time:           {wall:8.1f} s")
    ratio = per / IDLE_TARGET_SECONDS
    print(f"  per idle use case:         {per:8.3f} s  ({ratio:.2f} × the 0.1 s target)")
    print(f"  check flow runs started:   {check_runs(api_url) - runs:8d}    (target 0)")
    print(f"  provider calls:            {provider_calls(sandbox_root) - before:8d}    (target 0)")


def main() -> None:
    """Generate the use cases, baseline them, and time the sweep."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-cases", type=int, default=200)
    parser.add_argument("--items", type=int, default=20, help="eval items per use case")
    parser.add_argument("--spread-only", action="store_true", help="skip the in-turn sweeps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="phasegate-bench-sweep-") as tmp:
        root = Path(tmp)
        os.environ.update(
            {
                "PHASEGATE_DATA_DIR": str(root / "data"),
                "PREFECT_HOME": str(root / "prefect"),
                "PREFECT_LOGGING_LEVEL": "WARNING",
                **serve.QUIET,
            }
        )
        os.environ.pop("PHASEGATE_DATABASE_URL", None)
        with sandbox() as sandbox_root:
            os.environ["PHASEGATE_BASE_URL"] = f"{sandbox_root}/v1"
            run(root, sandbox_root, args.use_cases, args.items, args.spread_only)


def run(root: Path, sandbox_root: str, count: int, items: int, spread_only: bool) -> None:
    """Everything after the sandbox is up."""
    from prefect.events.worker import EventsWorker
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )

    from flows.sweep import sweep
    from state.settings import get_settings
    from state.spec import load_spec
    from state.store_api import Store

    get_settings.cache_clear()
    started = time.perf_counter()
    stack = serve.LocalPrefect.start(
        log_dir=root / "logs", env={"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}
    )
    print(f"Prefect server up in {time.perf_counter() - started:.1f} s at {stack.api_url}")
    try:
        specs = generate(root / "usecases", count, items)
        Store(get_settings().store_url).apply_specs([load_spec(path) for path in specs])
        with temporary_settings({PREFECT_API_URL: stack.api_url}):
            started = time.perf_counter()
            baselines = sweep()
            print(
                f"baselines of {count} use cases ({items} eval items each): "
                f"{time.perf_counter() - started:.1f} s (not timed), "
                f"{sum(1 for v in baselines.values() if v == 'Baselined')} baselined"
            )
            if not spread_only:
                timed_sweep(stack.api_url, sandbox_root, count, "sweep (as deployed)")
                with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                    timed_sweep(stack.api_url, sandbox_root, count, "sweep without heartbeats")
            spread_sweep(stack.api_url, sandbox_root, count)
    finally:
        # The decisions' events are sent in the background: send them before the server stops.
        EventsWorker.drain_all(timeout=30)
        stack.stop()


if __name__ == "__main__":
    main()
