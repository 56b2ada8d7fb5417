"""The state store on SQLite and PostgreSQL: apply, decisions, activations, usage, races."""

import multiprocessing
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from state import configurations, decisions, usage, use_cases
from state.db import session_scope
from state.domain import ConfigurationDraft, DecisionDraft, GateResult, UsageCount
from state.errors import Conflict, NotFound
from state.models import DecisionRecord
from state.phases import DecisionKind, GateStatus, Phase
from state.spec import load_spec
from tests.specs import write_spec
from tests.state.racer import advance


def _baseline(session: Session, name: str, model: str = "m1", run: str | None = None):
    config = configurations.save_configuration(
        name, ConfigurationDraft(phase=Phase.PROMPTING, model=model), session=session
    )
    version = use_cases.require_use_case(name, session=session).version
    draft = DecisionDraft(
        kind=DecisionKind.BASELINED,
        to_phase=Phase.PROMPTING,
        configuration_id=config.id,
        flow_run_id=run,
        gate_results=[GateResult(check="quality", status=GateStatus.PASS, observed=0.5)],
    )
    return decisions.record_decision(name, draft, expected_version=version, session=session)


def test_apply_spec_reports_created_unchanged_updated(tmp_path: Path, session: Session) -> None:
    path = write_spec(tmp_path)
    assert use_cases.apply_spec(load_spec(path), session=session).outcome == "created"
    assert use_cases.apply_spec(load_spec(path), session=session).outcome == "unchanged"
    changed = write_spec(tmp_path, gates={"prompting_to_rag": {"target": 0.5}})
    result = use_cases.apply_spec(load_spec(changed), session=session)
    assert result.outcome == "updated"
    assert use_cases.require_use_case("demo-qa", session=session).spec_hash == result.spec_hash


def test_require_use_case_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nope'"):
        use_cases.require_use_case("nope", session=session)


def test_save_configuration_reuses_identical_content(use_case: str, session: Session) -> None:
    draft = ConfigurationDraft(phase=Phase.RAG, model="m", retrieval={"top_k": 3})
    first = configurations.save_configuration(use_case, draft, session=session)
    assert configurations.save_configuration(use_case, draft, session=session).id == first.id


def test_record_decision_changes_phase_with_gate_results(use_case: str, session: Session) -> None:
    decision = _baseline(session, use_case)
    assert decision.gate_results[0].observed == 0.5
    loaded = use_cases.require_use_case(use_case, session=session)
    assert loaded.active_configuration_id == decision.configuration_id
    assert loaded.version == 2


def test_record_decision_held_does_not_bump_the_version(use_case: str, session: Session) -> None:
    held = DecisionDraft(kind=DecisionKind.HELD, to_phase=Phase.RAG, reason="not needed")
    decisions.record_decision(use_case, held, expected_version=99, session=session)
    assert use_cases.require_use_case(use_case, session=session).version == 1


def test_record_decision_held_keeps_the_active_configuration(
    use_case: str, session: Session
) -> None:
    baseline = _baseline(session, use_case)
    version = use_cases.require_use_case(use_case, session=session).version
    held = DecisionDraft(kind=DecisionKind.HELD, to_phase=Phase.RAG, reason="quality is fine")
    decisions.record_decision(use_case, held, expected_version=version, session=session)
    loaded = use_cases.require_use_case(use_case, session=session)
    assert (loaded.active_phase, loaded.active_configuration_id) == (
        Phase.PROMPTING,
        baseline.configuration_id,
    )


def test_record_decision_is_idempotent_per_flow_run(use_case: str, session: Session) -> None:
    first = _baseline(session, use_case, run="run-1")
    again = _baseline(session, use_case, model="m2", run="run-1")
    assert again.id == first.id
    assert session.exec(select(func.count()).select_from(DecisionRecord)).one() == 1


def test_record_decision_refuses_stale_version(use_case: str, engine: Engine) -> None:
    with session_scope(engine) as session:
        draft = DecisionDraft(kind=DecisionKind.BASELINED, to_phase=Phase.PROMPTING)
        decisions.record_decision(use_case, draft, expected_version=1, session=session)
    with pytest.raises(Conflict, match="changed while this check ran"):
        with session_scope(engine) as session:
            decisions.record_decision(use_case, draft, expected_version=1, session=session)
    with session_scope(engine) as session:
        assert len(decisions.list_decisions(use_case, session=session)) == 1


def test_record_usage_replaces_the_same_day_and_source(use_case: str, session: Session) -> None:
    day = date(2026, 11, 1)
    usage.record_usage_many([UsageCount(use_case, day, 100, "app")], session=session)
    usage.record_usage_many([UsageCount(use_case, day, 120, "app")], session=session)
    usage.record_usage_many([UsageCount(use_case, day, 5, "batch")], session=session)
    assert usage.volume(use_case, today=day, session=session) == 125


def test_volume_counts_only_the_last_30_days(use_case: str, session: Session) -> None:
    today = date(2026, 11, 30)
    for offset in range(40):
        usage.record_usage_many(
            [UsageCount(use_case, today - timedelta(days=offset), 10)], session=session
        )
    assert usage.volume(use_case, today=today, session=session) == 300
    assert usage.volumes(today=today, session=session) == {use_case: 300}


def test_record_usage_refuses_unknown_use_case(session: Session) -> None:
    with pytest.raises(NotFound):
        usage.record_usage_many([UsageCount("ghost", date(2026, 1, 1), 1)], session=session)


def test_usage_reports_in_one_statement_are_answered_each_and_later_wins(
    use_case: str, session: Session
) -> None:
    day = date(2026, 11, 1)
    first = [UsageCount(use_case, day, 100, "app"), UsageCount(use_case, day, 7, "b")]
    ghost = [UsageCount("ghost", day, 50, "app")]
    later = [UsageCount(use_case, day, 120, "app")]
    results = usage.record_usage_reports([first, ghost, later], session=session)
    assert results[0] == 2 and results[2] == 1
    assert isinstance(results[1], NotFound) and "ghost" in str(results[1])
    assert usage.volume(use_case, today=day, session=session) == 127


def test_usage_report_naming_an_unknown_use_case_writes_none_of_it(
    use_case: str, session: Session
) -> None:
    day = date(2026, 11, 1)
    mixed = [UsageCount(use_case, day, 9), UsageCount("ghost", day, 1)]
    (result,) = usage.record_usage_reports([mixed], session=session)
    assert isinstance(result, NotFound)
    assert usage.volume(use_case, today=day, session=session) == 0


def test_two_processes_racing_one_phase_change_one_wins(
    use_case: str, store_url: str, engine: Engine
) -> None:
    with session_scope(engine) as session:
        version = use_cases.require_use_case(use_case, session=session).version
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(2), context.Queue()
    racers = [
        context.Process(target=advance, args=(store_url, version, label, barrier, queue))
        for label in ("racer-a", "racer-b")
    ]
    for racer in racers:
        racer.start()
    results = sorted(queue.get(timeout=60)[1] for _ in racers)
    for racer in racers:
        racer.join(timeout=30)
    assert results == ["conflict", "won"]
    with session_scope(engine) as session:
        recorded = decisions.list_decisions(use_case, session=session)
        assert len(recorded) == 1
        assert use_cases.require_use_case(use_case, session=session).active_phase == Phase.RAG
