"""Benchmark: 30-day volume of 1,000 use cases over 1,000,000 usage rows (target < 50 ms on SQLite).

.venv/bin/python bench/store.py [--use-cases 1000] [--days 1000] [--url sqlite:///...]
.venv/bin/python bench/store.py --prune [--use-cases 10] [--hours 8760] [--items 142]
    a year of hourly monitoring per use case (one run an hour, one result row per item, a
    rolled-back decision a month citing its run, a skipped decision a day, a cache entry an
    hour), then `prune --older-than 90d`: its time and the store size before and after
"""

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from store_sql import NOW, grow, print_plan, size_mb  # a sibling: run this as bench/store.py

from state.domain import UsageCount
from state.spec import LoadedSpec, UseCaseSpec
from state.store_api import Store

TARGET_MS = 50.0
TODAY = date(2026, 11, 25)


def _spec(name: str) -> LoadedSpec:
    spec = UseCaseSpec(
        name=name,
        task="qa",
        metric="token_f1",
        data={"eval": "eval.jsonl"},
        prompts=[{"name": "zero-shot", "kind": "zero_shot"}],
    )
    return LoadedSpec(spec=spec, path=Path(f"/bench/{name}.yaml"))


def load(store: Store, use_cases: int, days: int) -> float:
    """Register the use cases and insert use_cases × days rows; return seconds."""
    started = time.perf_counter()
    names = [f"uc-{i:04d}" for i in range(use_cases)]
    store.apply_specs([_spec(name) for name in names])
    for offset in range(0, days, 50):
        batch = [
            UsageCount(name, TODAY - timedelta(days=d), (i * 31 + d * 7) % 500)
            for d in range(offset, min(days, offset + 50))
            for i, name in enumerate(names)
        ]
        store.record_usage(batch)
    return time.perf_counter() - started


def main() -> None:
    """Load the rows, time the 30-day volume query, print the plan and the ratio to target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-cases", type=int, default=1000)
    parser.add_argument("--days", type=int, default=1000)
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--prune", action="store_true", help="grow monitoring, then prune it")
    parser.add_argument("--hours", type=int, default=8760, help="--prune: monitor runs each")
    parser.add_argument("--items", type=int, default=142, help="--prune: eval items per run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        store = Store(url)
        if args.prune:
            names = [f"uc-{i:04d}" for i in range(args.use_cases)]
            load(store, args.use_cases, 1)
            bench_prune(store, names, args.hours, args.items, days=90)
            store.close()
            return
        rows = args.use_cases * args.days
        seconds = load(store, args.use_cases, args.days)
        print(f"loaded {rows:,} usage rows in {seconds:.1f} s ({url.split(':')[0]})")
        print_plan(url, TODAY)  # after ANALYZE, as the timed reads see the store
        timings, result = [], {}
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = store.volumes(today=TODAY)
            timings.append((time.perf_counter() - started) * 1000)
        assert len(result) == args.use_cases, "every use case must have a volume"
        best, median = min(timings), statistics.median(timings)
        n = len(result)
        print(f"30-day volume, {n:,} use cases: median {median:.1f} ms, min {best:.1f} ms")
        print(f"ratio to the {TARGET_MS:.0f} ms target: {median / TARGET_MS:.2f} (≤ 1.00 passes)")
        store.close()


def bench_prune(store: Store, names: list[str], hours: int, items: int, days: int) -> None:
    """Grow the store, prune it to `days`, print the figures."""
    rows, seconds = grow(store.url, names, hours, items)
    print(
        f"grew {len(names)} use cases × {hours:,} hourly monitor runs × {items} items = "
        f"{rows:,} result rows in {seconds:.0f} s ({store.url.split(':')[0]})"
    )
    before = size_mb(store.url)
    started = time.perf_counter()
    # What `phasegate prune` does first: a dry run names the flow runs whose artifacts go.
    store.prune(older_than=timedelta(days=days), now=NOW, dry_run=True)
    planned = time.perf_counter() - started
    started = time.perf_counter()
    report = store.prune(older_than=timedelta(days=days), now=NOW)
    took = time.perf_counter() - started
    after = size_mb(store.url)
    print(
        f"dry run {planned:.1f} s, then prune --older-than {days}d: {took:.1f} s; "
        f"removed {report.eval_results:,} results of "
        f"{report.eval_runs:,} runs, {report.cache_entries:,} cache entries, "
        f"{report.skipped_decisions:,} skipped decisions; {len(report.flow_run_ids):,} flow "
        "runs' artifacts to delete"
    )
    print(f"store in use: {before:,.0f} MB before, {after:,.0f} MB after (pages kept for reuse)")


if __name__ == "__main__":
    main()
