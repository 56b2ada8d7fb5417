"""bench/store.py's work below the store's face: a year of monitoring rows filled in bulk, the
SQL and plan of the 30-day volume query, the store's size on disk.

The storage benchmark measures the SQL itself, so this one module of bench/ reads the tables
and the engine directly (tests/test_layers.py names it); what it times goes through `Store`.
"""

import time
from datetime import date, datetime, timedelta

from sqlalchemy import event, insert, select, text

from state.db import engine_for, session_scope
from state.models import (
    DecisionRecord,
    EvalResultRecord,
    EvalRunRecord,
    ResponseCacheRecord,
    UseCaseRecord,
)
from state.usage import volumes

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


def grow(url: str, names: list[str], hours: int, items: int) -> tuple[int, float]:
    """Insert a year (`hours`) of monitoring per use case; returns (result rows, seconds)."""
    engine = engine_for(url)
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


def size_mb(url: str) -> float:
    """The store's size in MB: SQLite pages in use, or PostgreSQL's database size."""
    engine = engine_for(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            pages = connection.execute(text("PRAGMA page_count")).scalar()
            free = connection.execute(text("PRAGMA freelist_count")).scalar()
            page = connection.execute(text("PRAGMA page_size")).scalar()
            return (pages - free) * page / 1e6
        return (
            connection.execute(text("SELECT pg_database_size(current_database())")).scalar() / 1e6
        )


def print_plan(url: str, today: date) -> None:
    """Print the query plan of the 30-day volume query on the store at `url`."""
    engine = engine_for(url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
    with session_scope(engine) as session:
        statement = _volumes_sql(session, today)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        plan = connection.execute(text(prefix + statement)).fetchall()
    print("query plan:")
    for row in plan:
        print("  ", " ".join(str(part) for part in row))


def _volumes_sql(session, today: date) -> str:
    """The SQL that `volumes()` runs, with literal parameters, captured from the store function."""
    captured = []
    bind = session.get_bind()

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        captured.append(context.compiled.statement)

    event.listen(bind, "before_cursor_execute", capture)
    try:
        volumes(today=today, session=session)
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    compiled = captured[-1].compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)
