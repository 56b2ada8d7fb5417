"""A check's configurations and eval runs are stored with its decision, in its unit of work."""

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from state import leases
from state.db import session_scope
from state.domain import (
    ConfigurationDraft,
    DecisionDraft,
    EvalRun,
    GateResult,
    Unstored,
    as_stored,
)
from state.errors import LeaseLost
from state.models import ConfigurationRecord, DecisionRecord, EvalRunRecord
from state.phases import DecisionKind, GateStatus, Phase
from state.store_api import Store

RUN = "run-check"


def _kept(use_case_id: int) -> tuple[Unstored, DecisionDraft]:
    """A configuration and its run kept by a check, and a decision that names both."""
    unstored = Unstored()
    draft = ConfigurationDraft(phase=Phase.PROMPTING, model="gpt-test")
    config = unstored.keep_configuration(draft, use_case_id)
    run = unstored.keep_run(
        EvalRun(
            use_case="demo-qa",
            configuration_id=config.id,
            eval_set_hash="abc",
            metric="exact_match",
            n=1,
            mean=1.0,
            ci_low=1.0,
            ci_high=1.0,
            error_rate=0.0,
            latency_p50_ms=1.0,
            latency_p95_ms=1.0,
            prompt_tokens_per_query=1.0,
            completion_tokens_per_query=1.0,
        )
    )
    evidence = {
        "active_eval_run_id": 7,  # a stored run: kept as it is
        "candidate_eval_run_id": run.id,
        "variant_eval_run_ids": [run.id],
        "arms": {"control": {"configuration_id": config.id}},
        "n": -1,  # not an id
    }
    decision = DecisionDraft(
        kind=DecisionKind.HELD,
        to_phase=Phase.RAG,
        candidate_configuration_id=config.id,
        eval_run_ids=[run.id],
        flow_run_id=RUN,
        reason="held",
        gate_results=[GateResult(check="quality_gain", status=GateStatus.FAIL, evidence=evidence)],
    )
    return unstored, decision


def _rows(engine: Engine) -> tuple[int, int, int]:
    """How many configurations, eval runs and decisions the store holds."""
    with session_scope(engine) as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (ConfigurationRecord, EvalRunRecord, DecisionRecord)
        )


def _record(store: Store, unstored: Unstored, draft: DecisionDraft, holder: str | None = None):
    version = store.require_use_case("demo-qa").version
    return store.record_scored_check(
        "demo-qa",
        draft,
        unstored,
        rollout=None,
        expected_version=version,
        approval_status=None,
        lease_holder=holder,
    )


def test_record_scored_check_stores_what_the_decision_names(
    use_case: str, store_url: str, engine: Engine
) -> None:
    store = Store(store_url)
    unstored, draft = _kept(store.require_use_case(use_case).id)

    decision, rollout_id, stored = _record(store, unstored, draft)

    [config_id] = [stored[i] for i in unstored.configurations]
    [run_id] = [stored[i] for i in unstored.eval_runs]
    assert (decision.candidate_configuration_id, decision.eval_run_ids) == (config_id, [run_id])
    assert store.get_eval_runs([run_id])[0].configuration_id == config_id
    assert (rollout_id, _rows(engine)) == (None, (1, 1, 1))
    assert decision.gate_results[0].evidence == {
        "active_eval_run_id": 7,
        "candidate_eval_run_id": run_id,
        "variant_eval_run_ids": [run_id],
        "arms": {"control": {"configuration_id": config_id}},
        "n": -1,
    }
    assert store.list_decisions(use_case)[-1].gate_results == decision.gate_results


def test_record_scored_check_again_stores_nothing_twice(
    use_case: str, store_url: str, engine: Engine
) -> None:
    store = Store(store_url)
    unstored, draft = _kept(store.require_use_case(use_case).id)
    first, _, _ = _record(store, unstored, draft)

    again, _, stored = _record(store, unstored, draft)

    assert (again.id, stored, _rows(engine)) == (first.id, {}, (1, 1, 1))


def test_record_scored_check_of_a_lost_lease_stores_nothing(
    use_case: str, store_url: str, engine: Engine
) -> None:
    store = Store(store_url)
    unstored, draft = _kept(store.require_use_case(use_case).id)
    with session_scope(engine) as session:
        leases.acquire_lease(use_case, RUN, ttl_seconds=60.0, session=session)
        leases.break_lease(use_case, broken_by="ops", reason="stuck", session=session)

    with pytest.raises(LeaseLost):
        _record(store, unstored, draft, holder=RUN)

    assert _rows(engine) == (0, 0, 0)


def test_as_stored_names_a_kept_run_by_its_stored_ids_and_leaves_the_rest() -> None:
    unstored, _ = _kept(use_case_id=1)
    [config_id] = unstored.configurations
    [run] = unstored.eval_runs.values()

    stored = as_stored(run, {config_id: 7, run.id: 9})

    assert (stored.id, stored.configuration_id) == (9, 7)
    assert as_stored(run, {}) is run  # not stored: its decision was recorded before
