"""Retention: old monitoring results, cached responses and skipped checks go; evidence stays."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from state import batch_waits, configurations, decisions, use_cases
from state.db import session_scope
from state.domain import BatchWait, ConfigurationDraft, DecisionDraft, GateResult
from state.errors import InputError
from state.evals import get_cached_responses, get_eval_run, put_cached_responses, record_eval_run
from state.models import (
    BatchWaitRecord,
    DecisionRecord,
    EvalResultRecord,
    EvalRunRecord,
    ResponseCacheRecord,
    utcnow,
)
from state.phases import DecisionKind, GateStatus, Phase
from state.retention import prune
from tests.tasks.gate_builders import eval_run

RETENTION = timedelta(days=90)
OLD = timedelta(days=120)


@pytest.fixture(name="configured_use_case")
def configured_use_case_fixture(use_case: str, engine: Engine) -> str:
    """The registered demo-qa with one configuration."""
    with session_scope(engine) as session:
        configurations.save_configuration(
            use_case, ConfigurationDraft(phase=Phase.PROMPTING, model="m1"), session=session
        )
    return use_case


def _run(session: Session, purpose: str, flow_run: str, age: timedelta = OLD) -> int:
    """A stored eval run of three items, created `age` ago."""
    run = eval_run([1.0, 0.0, 1.0]).model_copy(
        update={"id": None, "use_case": "demo-qa", "purpose": purpose, "flow_run_id": flow_run}
    )
    stored = record_eval_run(run, session=session)
    _age(session, EvalRunRecord, stored.id, age)
    return stored.id


def _age(session: Session, table: type, row_id: int, age: timedelta) -> None:
    """Set a row's creation time `age` ago."""
    moment = utcnow() - age
    session.execute(update(table).where(col(table.id) == row_id).values(created_at=moment))


def _decision(
    session: Session, kind: DecisionKind, flow_run: str, runs: list[int], gates: bool
) -> int:
    version = use_cases.require_use_case("demo-qa", session=session).version
    draft = DecisionDraft(
        kind=kind,
        to_phase=Phase.RAG,
        flow_run_id=flow_run,
        eval_run_ids=runs,
        gate_results=[GateResult(check="quality", status=GateStatus.PASS)] if gates else [],
    )
    decision = decisions.record_decision(
        "demo-qa", draft, expected_version=version, session=session
    )
    return decision.id


def _results(session: Session, run_id: int) -> int:
    return session.exec(select(func.count()).where(EvalResultRecord.eval_run_id == run_id)).one()


@pytest.fixture(name="history")
def history_fixture(configured_use_case: str, engine: Engine) -> dict[str, int]:
    """Four months of a use case: monitor runs, a cited run, skipped and held checks, cache."""
    with session_scope(engine) as session:
        ids = {
            "old_monitor": _run(session, "monitor", "flow-old-monitor"),
            "cited_monitor": _run(session, "monitor", "flow-rollback"),
            "new_monitor": _run(session, "monitor", "flow-new-monitor", timedelta(days=3)),
            "old_eval": _run(session, "eval", "flow-old-eval"),
        }
        ids["rolled_back"] = _decision(
            session, DecisionKind.ROLLED_BACK, "flow-rollback", [ids["cited_monitor"]], True
        )
        ids["old_skipped"] = _decision(session, DecisionKind.SKIPPED, "flow-skipped", [], False)
        ids["new_skipped"] = _decision(session, DecisionKind.SKIPPED, "flow-skip-new", [], False)
        ids["old_held"] = _decision(session, DecisionKind.HELD, "flow-held", [], True)
        for name in ("rolled_back", "old_skipped", "old_held"):
            _age(session, DecisionRecord, ids[name], OLD)
        put_cached_responses({"old-key": {"a": 1}, "new-key": {"b": 2}}, session=session)
        session.execute(
            update(ResponseCacheRecord)
            .where(col(ResponseCacheRecord.key) == "old-key")
            .values(created_at=utcnow() - OLD)
        )
    return ids


def test_prune_removes_old_monitor_results_and_keeps_the_run_summary(
    history: dict[str, int], engine: Engine
) -> None:
    with session_scope(engine) as session:
        report = prune(older_than=RETENTION, session=session)
    assert (report.eval_runs, report.eval_results) == (1, 3)
    with session_scope(engine) as session:
        summary = get_eval_run(history["old_monitor"], session=session)
        assert (summary.n, summary.mean, summary.results) == (3, pytest.approx(2 / 3), [])
        kept = ("cited_monitor", "new_monitor", "old_eval")
        assert [_results(session, history[name]) for name in kept] == [3, 3, 3]


def test_prune_removes_old_skipped_decisions_only(history: dict[str, int], engine: Engine) -> None:
    with session_scope(engine) as session:
        report = prune(older_than=RETENTION, session=session)
    assert report.skipped_decisions == 1
    with session_scope(engine) as session:
        left = set(session.exec(select(DecisionRecord.id)).all())
    assert left == {history[n] for n in ("rolled_back", "new_skipped", "old_held")}


def test_prune_removes_old_cache_entries(history: dict[str, int], engine: Engine) -> None:
    with session_scope(engine) as session:
        assert prune(older_than=RETENTION, session=session).cache_entries == 1
        assert get_cached_responses(["old-key", "new-key"], session=session) == {
            "new-key": {"b": 2}
        }


def test_prune_names_the_flow_runs_left_with_nothing(
    history: dict[str, int], engine: Engine
) -> None:
    with session_scope(engine) as session:
        report = prune(older_than=RETENTION, session=session)
    assert report.flow_run_ids == ["flow-old-monitor", "flow-skipped"]


def test_prune_again_removes_nothing(history: dict[str, int], engine: Engine) -> None:
    with session_scope(engine) as session:
        prune(older_than=RETENTION, session=session)
    with session_scope(engine) as session:
        again = prune(older_than=RETENTION, session=session)
    counts = (again.eval_runs, again.eval_results, again.cache_entries, again.skipped_decisions)
    assert (counts, again.flow_run_ids) == ((0, 0, 0, 0), [])


def test_prune_with_a_window_that_is_not_positive_raises_and_removes_nothing(
    history: dict[str, int], engine: Engine
) -> None:
    with pytest.raises(InputError, match="retention must be positive"):
        with session_scope(engine) as session:
            prune(older_than=timedelta(0), session=session)
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(EvalResultRecord)).one() == 12
        assert session.exec(select(func.count()).select_from(DecisionRecord)).one() == 4


def test_prune_dry_run_reports_what_prune_removes_and_removes_nothing(
    history: dict[str, int], engine: Engine
) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        planned = prune(older_than=RETENTION, session=session, now=now, dry_run=True)
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(EvalResultRecord)).one() == 12
        assert session.exec(select(func.count()).select_from(DecisionRecord)).one() == 4
        assert prune(older_than=RETENTION, session=session, now=now) == planned
    assert (planned.eval_results, planned.cache_entries, planned.skipped_decisions) == (3, 1, 1)


def test_prune_removes_the_batch_waits_of_runs_resumed_before_the_window(
    use_case: str, engine: Engine
) -> None:
    with session_scope(engine) as session:
        for run, batch in (("run-old", "batch_1"), ("run-new", "batch_2"), ("run-wait", "b3")):
            wait = BatchWait(
                flow_run_id=run,
                batch_id=batch,
                input_sha256="a" * 64,
                poll_seconds=60,
                next_poll_at=utcnow(),
            )
            batch_waits.record_batch_wait(wait, session=session)
        for run in ("run-old", "run-new"):
            batch_waits.end_batch_wait(
                "batch_1" if run == "run-old" else "batch_2", session=session
            )
            assert batch_waits.claim_resume(run, session=session)
        session.execute(
            update(BatchWaitRecord)
            .where(col(BatchWaitRecord.flow_run_id) == "run-old")
            .values(resumed_at=utcnow() - OLD)
        )
    with session_scope(engine) as session:
        assert prune(older_than=RETENTION, session=session).batch_waits == 1
    with session_scope(engine) as session:
        left = session.exec(select(BatchWaitRecord.flow_run_id)).all()
    assert sorted(left) == ["run-new", "run-wait"]
