"""What a rollout step's checks decide: promote, abort, wait, or ask a person.

- the split is broken (`live_sample_ratio` fails): ask — no other result can be trusted;
- any other check fails: abort — the control is restored at once;
- every check passes and the step has its `min_interactions`: promote (next step, or 100 %);
- otherwise wait; once the step has run `max_duration` still undecided: ask, never promote.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from state.domain import GateResult
from state.spec_rollout import RolloutStep
from tasks.gates import FAIL, PASS, unmet

SAMPLE_RATIO = "live_sample_ratio"


class Action(StrEnum):
    """What a rollout does after an analysis."""

    PROMOTE = "promote"
    ABORT = "abort"
    WAIT = "wait"
    ASK = "ask"
    DROP = "drop"  # an A/B's variants that are worse: their keys get the control


@dataclass(frozen=True)
class Move:
    """An action with the reason recorded for it (an A/B's: the arms it drops or promotes)."""

    action: Action
    reason: str
    arms: tuple[str, ...] = ()


def decide_step(
    results: Sequence[GateResult], *, step: RolloutStep, interactions: int, elapsed_s: float
) -> Move:
    """Decide a step from its checks, its interactions so far and how long it has run."""
    ratio = next((r for r in results if r.check == SAMPLE_RATIO), None)
    if ratio is not None and ratio.status == FAIL:
        return Move(Action.ASK, f"sample-ratio mismatch: {ratio.detail}")
    failed = [r for r in results if r.status == FAIL]
    if failed:
        return Move(Action.ABORT, unmet(failed, failed_only=True))
    passed = bool(results) and all(r.status == PASS for r in results)
    if passed and interactions >= step.min_interactions:
        return Move(Action.PROMOTE, "every live check passed")
    if passed:
        waiting = f"every live check passed; {interactions} of {step.min_interactions} interactions"
    else:
        waiting = unmet(results)
    if elapsed_s >= step.max_duration:
        return Move(
            Action.ASK,
            f"still undecided after {step.max_duration} s (max_duration): {waiting}",
        )
    return Move(Action.WAIT, waiting)
