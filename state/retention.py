"""Retention: remove what only grows (monitoring results, cached responses, skipped checks).

Past the retention window `prune` removes the per-item results of monitor eval runs (each run
keeps its summary row: n, mean, interval, latency, tokens, cost), response-cache entries,
`skipped` decisions (which carry no gates and no runs) and the batch waits of suspended runs
resumed before the window. Every eval run a decision cites keeps
its results, and no other decision is ever removed. It returns the flow runs left with nothing
in the store, whose Prefect artifacts the caller deletes. With `dry_run` it removes nothing
and says what it would: the caller deletes those artifacts first, then prunes with the same
`now`, so a Prefect API that is down leaves the store as it was.
"""

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func
from sqlmodel import Session, col, select

from state.convert import aware
from state.domain.operations import PruneReport
from state.errors import InputError
from state.models import (
    ActivationRecord,
    BatchWaitRecord,
    DecisionRecord,
    EvalResultRecord,
    EvalRunRecord,
    GateResultRecord,
    ResponseCacheRecord,
    utcnow,
)
from state.phases import DecisionKind

CHUNK = 500


def _chunks(values: Sequence) -> Iterator[Sequence]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _cited(session: Session) -> set[int]:
    """The ids of every eval run a decision cites."""
    return {i for ids in session.exec(select(DecisionRecord.eval_run_ids)).all() for i in ids}


def _drop(table: type, where: object, dry_run: bool, session: Session) -> int:
    """Delete the rows of `table` matching `where`, or only count them; how many."""
    if dry_run:
        return session.exec(select(func.count()).select_from(table).where(where)).one()
    return session.execute(delete(table).where(where)).rowcount


def _prune_results(cutoff: datetime, dry_run: bool, session: Session) -> tuple[int, int, set[str]]:
    """Drop the results of old monitor runs no decision cites: (runs, rows, their flow runs)."""
    has_results = exists().where(col(EvalResultRecord.eval_run_id) == EvalRunRecord.id)
    rows = session.exec(
        select(EvalRunRecord.id, EvalRunRecord.flow_run_id).where(
            EvalRunRecord.purpose == "monitor", col(EvalRunRecord.created_at) < cutoff, has_results
        )
    ).all()
    cited = _cited(session)
    runs = sorted(run_id for run_id, _ in rows if run_id not in cited)
    removed = 0
    for chunk in _chunks(runs):
        where = col(EvalResultRecord.eval_run_id).in_(chunk)
        removed += _drop(EvalResultRecord, where, dry_run, session)
    flow_runs = {flow_run for run_id, flow_run in rows if run_id not in cited and flow_run}
    return len(runs), removed, flow_runs


def _prune_skipped(cutoff: datetime, dry_run: bool, session: Session) -> tuple[set[int], set[str]]:
    """Drop old `skipped` decisions that hold no evidence: (their ids, their flow runs)."""
    rows = session.exec(
        select(DecisionRecord.id, DecisionRecord.flow_run_id, DecisionRecord.eval_run_ids).where(
            DecisionRecord.kind == DecisionKind.SKIPPED.value,
            col(DecisionRecord.created_at) < cutoff,
            ~exists().where(col(GateResultRecord.decision_id) == DecisionRecord.id),
            ~exists().where(col(ActivationRecord.decision_id) == DecisionRecord.id),
        )
    ).all()
    ids = sorted(decision_id for decision_id, _, runs in rows if not runs)
    for chunk in _chunks(ids):
        _drop(DecisionRecord, col(DecisionRecord.id).in_(chunk), dry_run, session)
    return set(ids), {flow_run for _, flow_run, runs in rows if not runs and flow_run}


def _prune_waits(cutoff: datetime, dry_run: bool, session: Session) -> int:
    """Drop the batch waits of runs resumed before the cutoff; how many."""
    rows = session.exec(
        select(BatchWaitRecord.id, BatchWaitRecord.resumed_at).where(
            col(BatchWaitRecord.resumed_at).is_not(None)
        )
    ).all()
    # Compared here: SQLite keeps no time zone.
    ids = sorted(wait_id for wait_id, resumed in rows if aware(resumed) < cutoff)
    for chunk in _chunks(ids):
        _drop(BatchWaitRecord, col(BatchWaitRecord.id).in_(chunk), dry_run, session)
    return len(ids)


def prune(
    *,
    older_than: timedelta,
    session: Session,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Remove monitoring results, cache entries, skipped decisions and batch waits older than
    the window."""
    if older_than <= timedelta(0):
        raise InputError(f"retention must be positive, not {older_than}")
    cutoff = (now or utcnow()) - older_than
    runs, results, result_flows = _prune_results(cutoff, dry_run, session)
    old_cache = col(ResponseCacheRecord.created_at) < cutoff
    cache = _drop(ResponseCacheRecord, old_cache, dry_run, session)
    skipped, skipped_flows = _prune_skipped(cutoff, dry_run, session)
    waits = _prune_waits(cutoff, dry_run, session)
    pruned = sorted(result_flows | skipped_flows)
    # A dry run still holds the skipped decisions it would drop: they keep no flow run.
    kept = {
        flow_run
        for chunk in _chunks(pruned)
        for decision_id, flow_run in session.exec(
            select(DecisionRecord.id, DecisionRecord.flow_run_id).where(
                col(DecisionRecord.flow_run_id).in_(chunk)
            )
        ).all()
        if decision_id not in skipped
    }
    return PruneReport(
        cutoff=cutoff,
        eval_runs=runs,
        eval_results=results,
        cache_entries=cache,
        skipped_decisions=len(skipped),
        batch_waits=waits,
        flow_run_ids=[flow_run for flow_run in pruned if flow_run not in kept],
    )
