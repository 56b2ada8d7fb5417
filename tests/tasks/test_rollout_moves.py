"""What a rollout step's results decide: promote, abort, wait, or ask a person."""

from state.phases import GateStatus, Stage
from state.spec_rollout import RolloutStep
from tasks.gates import gate_result
from tasks.rollout_moves import Action, decide_step

STEP = RolloutStep(weight=10, min_interactions=200, max_duration=3600)


def _result(check: str, status: GateStatus):
    return gate_result(check, Stage.ROLLOUT, status, f"{check} said {status}")


def _decide(*statuses: tuple[str, GateStatus], interactions: int = 500, elapsed: float = 10):
    results = [_result(c, s) for c, s in statuses]
    return decide_step(results, step=STEP, interactions=interactions, elapsed_s=elapsed)


RATIO_OK = ("live_sample_ratio", GateStatus.PASS)


def test_decide_promotes_when_every_check_passes_with_enough_interactions() -> None:
    assert _decide(RATIO_OK, ("live_rating", GateStatus.PASS)).action == Action.PROMOTE


def test_decide_waits_for_min_interactions_even_when_every_check_passes() -> None:
    move = _decide(RATIO_OK, ("live_rating", GateStatus.PASS), interactions=150)
    assert move.action == Action.WAIT
    assert "150 of 200 interactions" in move.reason


def test_decide_aborts_on_a_failed_check() -> None:
    move = _decide(
        RATIO_OK, ("live_rating", GateStatus.INCONCLUSIVE), ("live_error_rate", GateStatus.FAIL)
    )
    assert move.action == Action.ABORT
    assert move.reason.startswith("live_error_rate")


def test_decide_waits_while_inconclusive_then_asks_never_promotes() -> None:
    undecided = (RATIO_OK, ("live_rating", GateStatus.INCONCLUSIVE))
    assert _decide(*undecided, elapsed=3599).action == Action.WAIT
    move = _decide(*undecided, elapsed=3600)
    assert move.action == Action.ASK
    assert "max_duration" in move.reason


def test_decide_asks_on_a_sample_ratio_mismatch_before_anything_else() -> None:
    move = _decide(("live_sample_ratio", GateStatus.FAIL), ("live_rating", GateStatus.FAIL))
    assert move.action == Action.ASK
    assert move.reason.startswith("sample-ratio mismatch")


def test_decide_with_no_results_waits() -> None:
    assert _decide().action == Action.WAIT
