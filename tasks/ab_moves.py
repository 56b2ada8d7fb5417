"""What an online A/B's analysis decides: drop a variant, name the winner, wait, or ask.

- the split is broken (`live_sample_ratio` fails): ask — no other result can be trusted;
- a variant is worse than the control (any of its checks fails): drop it — its keys are
  served the control from a new step on, the other arms keep theirs; with every variant
  dropped, the control wins;
- every variant is decided (better, or no different within ±min_effect) and the step has its
  `min_interactions`: the winner is the control when no variant is better, else the better
  variant that beats every other better one; two better variants not yet told apart wait;
- otherwise wait; once `max_duration` has passed still undecided: ask — never a default winner.
"""

from collections.abc import Sequence

from state.domain import GateResult
from state.spec_rollout import LiveMetrics, RolloutStep
from tasks.gates.live import ArmSample
from tasks.gates.live_ab import SAMPLE_RATIO, ArmVerdict, best_of
from tasks.gates.results import FAIL
from tasks.rollout_moves import Action, Move


def decide_ab(
    results: Sequence[GateResult],
    answers: list[ArmVerdict],
    arms: list[ArmSample],
    *,
    metrics: LiveMetrics,
    variants: int,
    step: RolloutStep,
    elapsed_s: float,
) -> Move:
    """Decide an A/B step from its checks and each variant's verdict (control first)."""
    ratio = next((r for r in results if r.check == SAMPLE_RATIO), None)
    if ratio is not None and ratio.status == FAIL:
        return Move(Action.ASK, f"sample-ratio mismatch: {ratio.detail}")
    if len(answers) == 1:
        return Move(Action.PROMOTE, "every variant was dropped", arms=(answers[0].name,))
    worse = [a.name for a in answers[1:] if a.verdict == "worse"]
    if worse:
        why = "; ".join(r.detail for r in results if r.status == FAIL)
        return Move(Action.DROP, f"worse than the control: {why}", arms=tuple(worse))
    open_ = [a.name for a in answers[1:] if a.verdict == "open"]
    better = sorted(
        (a for a in answers[1:] if a.verdict == "better"), key=lambda a: -(a.mean or 0.0)
    )
    interactions = sum(arm.interactions for arm in arms)
    if open_:
        waiting = f"{', '.join(open_)} not yet decided against the control"
    elif interactions < step.min_interactions:
        waiting = f"every variant decided; {interactions} of {step.min_interactions} interactions"
    elif not better:
        return Move(Action.PROMOTE, "no variant beats the control", arms=(answers[0].name,))
    elif (best := best_of([a.name for a in better], arms, metrics, variants)) is not None:
        rest = [a.name for a in better if a.name != best]
        beaten = f" and {', '.join(rest)}" if rest else ""
        return Move(Action.PROMOTE, f"{best} beats the control{beaten}", arms=(best,))
    else:
        waiting = f"{', '.join(a.name for a in better)} beat the control, not yet each other"
    if elapsed_s >= step.max_duration:
        return Move(
            Action.ASK, f"still undecided after {step.max_duration} s (max_duration): {waiting}"
        )
    return Move(Action.WAIT, waiting)
