"""Benchmark: 30-day volume of 1,000 use cases over 1,000,000 usage rows (target < 50 ms on SQLite).

.venv/bin/python bench/store.py [--use-cases 1000] [--days 1000] [--url sqlite:///...]
"""

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import event, text

from state.db import make_engine, session_scope, upgrade
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
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


if __name__ == "__main__":
    main()
