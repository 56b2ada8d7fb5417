"""Rollout units: started with the check's decision, moved step by step, ended with a decision."""

import pytest
from sqlalchemy.engine import Engine

from state.db import store_session
from state.domain import DecisionDraft, GateResult, NewInteraction, RolloutDraft
from state.errors import Conflict
from state.interactions import record_interactions
from state.phases import DecisionKind, GateStatus, Phase, Stage
from state.spec_rollout import RolloutStep
from state.store_api import Store
from tests.rollouts import control_and_canary, start

LIVE = GateResult(check="live_rating", stage=Stage.ROLLOUT, status=GateStatus.PASS)


@pytest.fixture(name="arms")
def arms_fixture(use_case: str, store_url: str, engine: Engine) -> tuple[int, int]:
    """The control's and the canary's configuration ids of demo-qa."""
    return control_and_canary(store_url, use_case)


def test_start_rollout_for_check_records_rolling_out_with_its_rollout(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    control, canary = arms
    decision = DecisionDraft(
        kind=DecisionKind.ROLLING_OUT,
        to_phase=Phase.RAG,
        configuration_id=control,
        candidate_configuration_id=canary,
        flow_run_id="run-1",
    )
    draft = RolloutDraft(
        to_phase=Phase.RAG, canaries={"canary": canary}, steps=[RolloutStep(weight=10)]
    )
    recorded, rollout = Store(store_url).start_rollout_for_check(
        use_case, decision, draft, approval_status=None
    )
    assert recorded.kind == DecisionKind.ROLLING_OUT
    assert rollout.evidence["decision_id"] == recorded.id
    assert Store(store_url).require_use_case(use_case).active_configuration_id == control


def test_start_rollout_for_check_refuses_a_control_that_changed(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    control, canary = arms
    decision = DecisionDraft(
        kind=DecisionKind.ROLLING_OUT, to_phase=Phase.RAG, configuration_id=canary
    )
    draft = RolloutDraft(
        to_phase=Phase.RAG, canaries={"canary": canary}, steps=[RolloutStep(weight=10)]
    )
    with pytest.raises(Conflict, match="changed while this check ran"):
        Store(store_url).start_rollout_for_check(use_case, decision, draft, approval_status=None)
    assert Store(store_url).list_decisions(use_case)[-1].kind == DecisionKind.BASELINED
    assert Store(store_url).list_rollouts(use_case) == []


def _move(store_url: str, rollout_id: int, action: str, version: int, **kw):
    return Store(store_url).move_rollout(
        rollout_id, action, expected_version=version, reason=f"{action} it", gates=[LIVE], **kw
    )


def test_promote_walks_the_steps_then_makes_the_canary_active(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    control, canary = arms
    rollout = start(store_url, use_case, canary, 10, 50)
    first = _move(store_url, rollout.id, "promote", 1)
    assert (first.rollout.step, first.rollout.weight, first.decision) == (1, 50, None)
    last = _move(store_url, rollout.id, "promote", 2, flow_run_id="run-9")
    assert last.rollout.status == "promoted" and last.rollout.ended_at is not None
    assert (last.decision.kind, last.decision.configuration_id) == (DecisionKind.ADVANCED, canary)
    assert [g.check for g in last.decision.gate_results] == ["live_rating"]
    use = Store(store_url).require_use_case(use_case)
    assert (use.active_configuration_id, use.active_phase) == (canary, Phase.RAG)
    assert Store(store_url).get_live_rollout(use_case) is None


def test_abort_keeps_the_control_and_records_rolled_back(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    control, canary = arms
    rollout = start(store_url, use_case, canary, 10, 50)
    aborted = _move(store_url, rollout.id, "abort", 1, decided_by="ana")
    assert aborted.rollout.status == "aborted"
    decision = aborted.decision
    assert (decision.kind, decision.configuration_id, decision.decided_by) == (
        DecisionKind.ROLLED_BACK,
        control,
        "ana",
    )
    use = Store(store_url).require_use_case(use_case)
    assert (use.active_configuration_id, use.active_phase) == (control, Phase.PROMPTING)


def test_ask_pauses_and_a_stale_answer_is_refused(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    rollout = start(store_url, use_case, arms[1])
    asked = _move(store_url, rollout.id, "ask", 1, flow_run_id="run-2").rollout
    assert (asked.status, asked.flow_run_id, asked.reason) == ("paused", "run-2", "ask it")
    with pytest.raises(Conflict):
        _move(store_url, rollout.id, "abort", 1)
    assert Store(store_url).get_rollout(rollout.id).status == "paused"


def test_step_observations_read_the_arms_interactions_of_the_step(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    control, canary = arms
    rollout = start(store_url, use_case, canary, 10, 50)
    api = Store(store_url)

    def report(prefix: str) -> None:
        news = [
            NewInteraction(client_id=f"{prefix}{n}", input="q", configuration_id=arm, rating=0.5)
            for n, arm in enumerate([control, canary, None])
        ]
        with store_session(store_url) as session:
            record_interactions(use_case, news, session=session)

    report("a")
    live, seen = api.step_observations(use_case)
    assert live.id == rollout.id
    assert sorted(o.configuration_id for o in seen) == sorted([control, canary])
    _move(store_url, rollout.id, "promote", 1)
    assert api.step_observations(use_case)[1] == []  # a new step counts afresh
    report("b")
    assert len(api.step_observations(use_case)[1]) == 2
