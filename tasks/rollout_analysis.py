"""One analysis of a live rollout: its checks on the step's interactions, and what they decide.

A canary rollout compares its one canary with the control (`run_rollout_checks`,
`decide_step`); an online A/B compares every variant still served with the control
(`run_ab_checks`, `decide_ab`) and adds its per-arm table.
"""

from state.domain import GateResult, Observation, Rollout
from tasks.ab_moves import decide_ab
from tasks.gates import ArmSample, LiveInputs, run_rollout_checks
from tasks.gates.live_ab import AB_ARMS, ab_summary, run_ab_checks, verdicts
from tasks.rollout_moves import Move, decide_step


def samples(rollout: Rollout, seen: list[Observation]) -> list[ArmSample]:
    """The step's interactions of every arm served, control first."""
    return [ArmSample.of(a.name, a.configuration_id, seen) for a in rollout.serving]


def analyse(rollout: Rollout, seen: list[Observation]) -> list[GateResult]:
    """The rollout stage's checks on the step's interactions of the arms."""
    arms = samples(rollout, seen)
    if rollout.kind == "ab":
        weights = [rollout.weights[a.position] for a in rollout.serving]
        variants = len(rollout.arms) - 1
        results = run_ab_checks(arms, weights, rollout.live_metrics, variants)
        answers = verdicts(results, arms, rollout.live_metrics)
        return [*results, ab_summary(answers, rollout.live_metrics, variants)]
    inputs = LiveInputs(
        use_case=rollout.use_case,
        control=arms[0],
        canary=arms[1],
        weights=rollout.weights,
        metrics=rollout.live_metrics,
    )
    return run_rollout_checks(inputs)


def decide(
    rollout: Rollout, seen: list[Observation], results: list[GateResult], elapsed_s: float
) -> Move:
    """Promote, abort, drop, wait or ask, from the step's checks and how long it has run."""
    step = rollout.steps[rollout.step]
    if rollout.kind != "ab":
        return decide_step(results, step=step, interactions=len(seen), elapsed_s=elapsed_s)
    arms = samples(rollout, seen)
    checks = [r for r in results if r.check != AB_ARMS.name]
    return decide_ab(
        checks,
        verdicts(checks, arms, rollout.live_metrics),
        arms,
        metrics=rollout.live_metrics,
        variants=len(rollout.arms) - 1,
        step=step,
        elapsed_s=elapsed_s,
    )
