"""Store functions for eval runs with their per-item results, and for the response cache.

Every function takes the session as keyword-only `session=`, returns domain models or plain
data and never commits: `state.db.session_scope` is the unit of work.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.domain import EvalRun, ItemResult
from state.errors import NotFound
from state.models import (
    ConfigurationRecord,
    EvalResultRecord,
    EvalRunRecord,
    ResponseCacheRecord,
    UseCaseRecord,
    utcnow,
)

# Keys per IN (...) query: well below SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500
RESULT_FIELDS = tuple(ItemResult.model_fields)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """Slices of at most CHUNK values."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _to_eval_run(session: Session, row: EvalRunRecord, name: str) -> EvalRun:
    """The domain model of an eval-run row with its results in recorded order."""
    results = session.exec(
        select(EvalResultRecord)
        .where(EvalResultRecord.eval_run_id == row.id)
        .order_by(col(EvalResultRecord.id))
    ).all()
    data = row.model_dump(exclude={"use_case_id"})
    return EvalRun(
        **data | {"use_case": name, "created_at": aware(row.created_at)},
        results=[ItemResult(**r.model_dump(include=set(RESULT_FIELDS))) for r in results],
    )


def record_eval_run(run: EvalRun, *, session: Session) -> EvalRun:
    """Store an eval run and its per-item results; returns it with its id and time."""
    use_case_id = lookup.use_case_id(session, run.use_case)
    if run.configuration_id is not None:
        config = session.get(ConfigurationRecord, run.configuration_id)
        if config is None or config.use_case_id != use_case_id:
            raise NotFound(
                f"configuration {run.configuration_id} does not exist for use case {run.use_case!r}"
            )
    row = EvalRunRecord(
        use_case_id=use_case_id,
        **run.model_dump(exclude={"id", "use_case", "created_at", "results"}),
    )
    session.add(row)
    session.flush()
    rows = [{"eval_run_id": row.id, **r.model_dump()} for r in run.results]
    if rows:
        session.execute(insert(EvalResultRecord), rows)
    return run.model_copy(update={"id": row.id, "created_at": aware(row.created_at)})


def get_eval_run(eval_run_id: int, *, session: Session) -> EvalRun | None:
    """The eval run with this id and its results, or None."""
    row = session.get(EvalRunRecord, eval_run_id)
    if row is None:
        return None
    return _to_eval_run(session, row, session.get(UseCaseRecord, row.use_case_id).name)


def list_eval_runs(use_case: str, *, session: Session) -> list[EvalRun]:
    """Every eval run of a use case, oldest first, without per-item results (summaries)."""
    rows = session.exec(
        select(EvalRunRecord)
        .where(EvalRunRecord.use_case_id == lookup.use_case_id(session, use_case))
        .order_by(col(EvalRunRecord.id))
    ).all()
    return [
        EvalRun(
            **row.model_dump(exclude={"use_case_id"})
            | {"use_case": use_case, "created_at": aware(row.created_at)}
        )
        for row in rows
    ]


def _reusable(row: EvalRunRecord) -> bool:
    """Whether a run measured the configuration, not a provider failure worth retrying."""
    extra = row.extra or {}
    if "provider_errors" in extra:
        return extra["provider_errors"] == 0
    return row.error_rate == 0


def find_eval_run(
    use_case: str, configuration_id: int, eval_set_hash: str, metric: str, *, session: Session
) -> EvalRun | None:
    """The newest reusable run of a configuration on an eval set with a metric, or None.

    An invalid run (no measurement) is never found, and a run in which provider calls failed
    is not reused: scoring again may succeed.
    """
    return _newest_reusable(
        use_case,
        session,
        EvalRunRecord.configuration_id == configuration_id,
        EvalRunRecord.eval_set_hash == eval_set_hash,
        EvalRunRecord.metric == metric,
    )


def latest_eval_run(
    use_case: str, configuration_id: int, metric: str, *, session: Session
) -> EvalRun | None:
    """The newest reusable run of a configuration on an eval set (any) with a metric, or None.

    What `find_eval_run` finds when the eval set is the one that run was scored on.
    """
    return _newest_reusable(
        use_case,
        session,
        EvalRunRecord.configuration_id == configuration_id,
        EvalRunRecord.purpose == "eval",
        EvalRunRecord.metric == metric,
    )


def _newest_reusable(use_case: str, session: Session, *where: Any) -> EvalRun | None:
    rows = session.exec(
        select(EvalRunRecord)
        .where(
            EvalRunRecord.use_case_id == lookup.use_case_id(session, use_case),
            col(EvalRunRecord.invalid_reason).is_(None),
            *where,
        )
        .order_by(col(EvalRunRecord.id).desc())
    )
    row = next((r for r in rows if _reusable(r)), None)
    return _to_eval_run(session, row, use_case) if row else None


def get_cached_responses(keys: Sequence[str], *, session: Session) -> dict[str, dict[str, Any]]:
    """The cached provider responses among `keys`, by key."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        rows = session.exec(
            select(ResponseCacheRecord.key, ResponseCacheRecord.response).where(
                col(ResponseCacheRecord.key).in_(chunk)
            )
        )
        found.update(rows.all())
    return found


def put_cached_responses(responses: Mapping[str, dict[str, Any]], *, session: Session) -> None:
    """Keep provider responses by key; a key already cached keeps its first response."""
    if not responses:
        return
    dialect = session.get_bind().dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make_insert(ResponseCacheRecord).on_conflict_do_nothing(index_elements=["key"])
    now = utcnow()
    # One statement executed over many rows: compiled once, batched by the driver layer.
    rows = [{"key": k, "response": v, "created_at": now} for k, v in responses.items()]
    session.execute(statement, rows)
