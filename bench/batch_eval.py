"""Benchmark: the same eval online and through the Batch API, wall time and cost side by side.

.venv/bin/python bench/batch_eval.py [--n 500] [--latency-ms 200] [--batch-seconds 10]

The sandbox runs as a subprocess: online calls take `--latency-ms` each (concurrency 16, the
default setting); a batch takes `--batch-seconds` from creation to completion, whatever its
size. Both runs score the same items with the same code on fresh stores (no response cache
shared). Printed: wall time, cost per query and in total at the built-in sandbox-base price,
provider calls / batches, and the batch-to-online cost ratio (target 0.50, the batch factor).
The batch's wall time past `--batch-seconds` is upload, polling slack (no webhook here) and
download; `tests/e2e/test_batch_webhook.py` shows a webhook ending the wait within 2 s.
"""

import argparse
import tempfile
import time
from typing import Any

import httpx
from pydantic import SecretStr

from phasegate import demo_services
from state.domain import EvalItem, EvalRun
from state.settings import DEFAULT_PRICES, ProviderOptions
from tasks.evaluation import EvalTarget, PreparedRequest, evaluate
from tasks.llm_batch import BatchOptions

MODEL = "sandbox-base"
FACTS = [
    "Refunds are processed within {n} business days.",
    "The maximum size of upload type {n} is {n} GB.",
    "Support tier {n} answers within {n} hours.",
]
QUESTIONS = [
    "Within how many business days are refunds processed?",
    "What is the maximum size of upload type {n}?",
    "Within how many hours does support tier {n} answer?",
]


def _items(n: int) -> list[EvalItem]:
    """N distinct items, each answerable from its own context sentence."""
    return [
        EvalItem(
            id=f"b{i:05d}",
            input=f"Context:\n[doc] {FACTS[i % 3].format(n=i)}\n\n"
            f"Question: {QUESTIONS[i % 3].format(n=i)}",
            expected=FACTS[i % 3].format(n=i),
        )
        for i in range(n)
    ]


def _run(
    base_url: str, items: list[EvalItem], store_url: str, batch: bool
) -> tuple[EvalRun, float]:
    """One eval of the items, online or by batch; the run and its wall seconds."""
    options = ProviderOptions(base_url=base_url, api_key=SecretStr("sk-bench"), concurrency=16)
    requests = [
        PreparedRequest(item_id=i.id, model=MODEL, messages=[{"role": "user", "content": i.input}])
        for i in items
    ]
    target = EvalTarget(use_case="bench", eval_set_hash="bench", metric="token_f1")
    started = time.perf_counter()
    run = evaluate(
        requests,
        items,
        target,
        options,
        store_url=store_url,
        price=DEFAULT_PRICES[MODEL],
        batch_api=BatchOptions() if batch else None,
    )
    return run, time.perf_counter() - started


def _admin(root: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a sandbox admin endpoint: POST with a payload, else GET."""
    response = httpx.request("POST" if payload is not None else "GET", root + path, json=payload)
    response.raise_for_status()
    return response.json()


def _line(name: str, run: EvalRun, wall: float, calls: str) -> str:
    """One printed line of figures."""
    cost = run.cost_per_query or 0.0
    return (
        f"  {name:<7} wall {wall:7.2f} s  mean {run.mean:.3f}  errors {run.error_rate:.1%}  "
        f"cost/query ${cost:.7f}  total ${cost * run.n:.5f}  {calls}"
    )


def main() -> None:
    """Run the eval both ways and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="eval items")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="online call latency")
    parser.add_argument("--batch-seconds", type=float, default=10.0, help="sandbox batch time")
    args = parser.parse_args()
    items = _items(args.n)
    with demo_services.sandbox() as base_url, tempfile.TemporaryDirectory() as tmp:
        root = base_url.removesuffix("/v1")
        _admin(root, "/sandbox/faults", {"latency_ms": args.latency_ms})
        _admin(root, "/sandbox/faults", {"batch_seconds": args.batch_seconds})
        print(
            f"batch vs online eval, n={args.n}, online latency {args.latency_ms:.0f} ms "
            f"(concurrency 16), batch {args.batch_seconds:.0f} s"
        )
        online, online_wall = _run(base_url, items, f"sqlite:///{tmp}/online.db", batch=False)
        calls = _admin(root, "/sandbox/stats")["chat_completions"]
        print(_line("online", online, online_wall, f"chat calls {calls}"))
        _admin(root, "/sandbox/reset", {})
        _admin(root, "/sandbox/faults", {"batch_seconds": args.batch_seconds})
        batch, batch_wall = _run(base_url, items, f"sqlite:///{tmp}/batch.db", batch=True)
        stats = _admin(root, "/sandbox/stats")
        counts = f"chat calls {stats['chat_completions']}, batches {stats['batches_create']}"
        print(_line("batch", batch, batch_wall, counts))
        ratio = (batch.cost_per_query or 0) / (online.cost_per_query or 1)
        print(f"  cost ratio batch/online {ratio:.2f} (target 0.50, the batch factor)")
        print(
            f"  batch wall past its {args.batch_seconds:.0f} s: "
            f"{batch_wall - args.batch_seconds:.2f} s (upload, poll slack, download, scoring)"
        )


if __name__ == "__main__":
    main()
