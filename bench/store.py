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
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine

from state.db import make_engine, session_scope, upgrade
from state.models import (
    DecisionRecord,
    EvalResultRecord,
    EvalRunRecord,
    ResponseCacheRecord,
    UseCaseRecord,
)
from state.retention import prune
from state.spec import LoadedSpec, UseCaseSpec
from state.store import apply_spec
from state.usage import UsageCount, record_usage_many, volumes

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


def load(engine, use_cases: int, days: int) -> float:
    """Register the use cases and insert use_cases × days rows; return seconds."""
    started = time.perf_counter()
    names = [f"uc-{i:04d}" for i in range(use_cases)]
    with session_scope(engine) as session:
        for name in names:
            apply_spec(_spec(name), session=session)
    for offset in range(0, days, 50):
        batch = [
            UsageCount(name, TODAY - timedelta(days=d), (i * 31 + d * 7) % 500)
            for d in range(offset, min(days, offset + 50))
            for i, name in enumerate(names)
        ]
        with session_scope(engine) as session:
            record_usage_many(batch, session=session)
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
        engine = make_engine(url)
        upgrade(engine)
        if args.prune:
            names = [f"uc-{i:04d}" for i in range(args.use_cases)]
            load(engine, args.use_cases, 1)
            bench_prune(engine, names, args.hours, args.items, days=90)
            engine.dispose()
            return
        rows = args.use_cases * args.days
        seconds = load(engine, args.use_cases, args.days)
        print(f"loaded {rows:,} usage rows in {seconds:.1f} s ({url.split(':')[0]})")
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.execute(text("ANALYZE"))
        timings, result = [], {}
        for _ in range(args.repeat):
            with session_scope(engine) as session:
                started = time.perf_counter()
                result = volumes(today=TODAY, session=session)
                timings.append((time.perf_counter() - started) * 1000)
        assert len(result) == args.use_cases, "every use case must have a volume"
        _print_plan(engine)
        best, median = min(timings), statistics.median(timings)
        n = len(result)
        print(f"30-day volume, {n:,} use cases: median {median:.1f} ms, min {best:.1f} ms")
        print(f"ratio to the {TARGET_MS:.0f} ms target: {median / TARGET_MS:.2f} (≤ 1.00 passes)")
        engine.dispose()


def _print_plan(engine) -> None:
    with session_scope(engine) as session:
        statement = _volumes_sql(session)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        plan = connection.execute(text(prefix + statement)).fetchall()
    print("query plan:")
    for row in plan:
        print("  ", " ".join(str(part) for part in row))


def _volumes_sql(session) -> str:
    """The SQL that `volumes()` runs, with literal parameters, captured from the store function."""
    captured = []
    bind = session.get_bind()

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        captured.append(context.compiled.statement)

    event.listen(bind, "before_cursor_execute", capture)
    try:
        volumes(today=TODAY, session=session)
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    compiled = captured[-1].compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


RUNS_PER_BATCH = 200
NOW = datetime(2026, 11, 25, 12)


def _run_row(use_case_id: int, run_id: int, at: datetime, items: int) -> dict:
    return {
        "id": run_id,
        "use_case_id": use_case_id,
        "purpose": "monitor",
        "eval_set_hash": "m" * 64,
        "metric": "token_f1",
        "n": items,
        "mean": 0.7,
        "ci_low": 0.65,
        "ci_high": 0.75,
        "error_rate": 0.0,
        "latency_p50_ms": 300.0,
        "latency_p95_ms": 800.0,
        "prompt_tokens_per_query": 900.0,
        "completion_tokens_per_query": 40.0,
        "flow_run_id": f"{run_id:036d}",
        "created_at": at,
    }


def _results(run_id: int, items: int) -> list[dict]:
    return [
        {
            "eval_run_id": run_id,
            "item_id": f"q{i:04d}",
            "score": (i % 7) / 7,
            "output": "Reset the password from the account page, then sign in again.",
            "latency_ms": 300.0 + i,
            "prompt_tokens": 900,
            "completion_tokens": 40,
        }
        for i in range(items)
    ]


def _decision(use_case_id: int, kind: str, at: datetime, runs: list[int], key: str) -> dict:
    return {
        "use_case_id": use_case_id,
        "kind": kind,
        "from_phase": "rag",
        "to_phase": "rag",
        "spec_hash": "s" * 64,
        "decided_by": "monitor",
        "reason": kind,
        "flow_run_id": key,
        "eval_run_ids": runs,
        "created_at": at,
    }


def grow(engine: Engine, names: list[str], hours: int, items: int) -> tuple[int, float]:
    """Insert a year (`hours`) of monitoring per use case; returns (result rows, seconds)."""
    started, run_id, rows = time.perf_counter(), 0, 0
    with engine.connect() as connection:
        ids = dict(connection.execute(select(UseCaseRecord.name, UseCaseRecord.id)).all())
    for name in names:
        use_case_id = ids[name]
        for first in range(0, hours, RUNS_PER_BATCH):
            runs, results, decisions, cache = [], [], [], []
            for hour in range(first, min(hours, first + RUNS_PER_BATCH)):
                run_id += 1
                at = NOW - timedelta(hours=hours - hour)
                runs.append(_run_row(use_case_id, run_id, at, items))
                results += _results(run_id, items)
                key = f"{name}-{hour}"
                cache.append(
                    {"key": f"{key:0>64}"[-64:], "response": {"h": hour}, "created_at": at}
                )
                if hour % (24 * 30) == 0:
                    decisions.append(_decision(use_case_id, "rolled_back", at, [run_id], key))
                elif hour % 24 == 0:
                    decisions.append(_decision(use_case_id, "skipped", at, [], key))
            with engine.begin() as connection:
                connection.execute(insert(EvalRunRecord.__table__), runs)
                connection.execute(insert(EvalResultRecord.__table__), results)
                connection.execute(insert(ResponseCacheRecord.__table__), cache)
                if decisions:
                    connection.execute(insert(DecisionRecord.__table__), decisions)
            rows += len(results)
    return rows, time.perf_counter() - started


def size_mb(engine: Engine) -> float:
    """The store's size in MB: SQLite pages in use, or PostgreSQL's database size."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            pages = connection.execute(text("PRAGMA page_count")).scalar()
            free = connection.execute(text("PRAGMA freelist_count")).scalar()
            page = connection.execute(text("PRAGMA page_size")).scalar()
            return (pages - free) * page / 1e6
        return (
            connection.execute(text("SELECT pg_database_size(current_database())")).scalar() / 1e6
        )


def bench_prune(engine: Engine, names: list[str], hours: int, items: int, days: int) -> None:
    """Grow the store, prune it to `days`, print the figures."""
    rows, seconds = grow(engine, names, hours, items)
    print(
        f"grew {len(names)} use cases × {hours:,} hourly monitor runs × {items} items = "
        f"{rows:,} result rows in {seconds:.0f} s ({engine.dialect.name})"
    )
    before = size_mb(engine)
    started = time.perf_counter()
    # What `phasegate prune` does first: a dry run names the flow runs whose artifacts go.
    with session_scope(engine) as session:
        prune(older_than=timedelta(days=days), now=NOW, session=session, dry_run=True)
    planned = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope(engine) as session:
        report = prune(older_than=timedelta(days=days), now=NOW, session=session)
    took = time.perf_counter() - started
    after = size_mb(engine)
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
