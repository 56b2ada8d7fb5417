"""Monitoring checks: has the active configuration regressed since it became active?

Here the baseline is the run recorded when the configuration became active and the subject
is a fresh run of the same configuration (`inputs.MONITOR` roles). The rule:

- `regression` fails when the 95 % interval of the paired mean change (fresh − baseline, over
  the items both runs scored) lies wholly below −`tolerated_drop`: the paired non-inferiority
  test. It passes when the lower bound reaches it and is inconclusive in between or with
  fewer than `min_paired` pairs; `canary_regression` is the same test on the canary set;
- `floor` fails when the fresh mean (every item, recent interactions included) is below the
  spec's floor.

Only a fail is a regression: an inconclusive check never rolls anything back.
"""

from state.domain import EvalRun, GateResult
from state.phases import Stage
from tasks.gates.absolute import quality_floor
from tasks.gates.inputs import GateInputs
from tasks.gates.paired import compare, non_inferiority
from tasks.gates.results import FAIL, INCONCLUSIVE, PASS, Gate, gate

MONITOR = Stage.MONITOR
VERDICTS = {
    FAIL: "regressed",
    PASS: "holds",
    INCONCLUSIVE: "may have regressed (not rolled back on this evidence)",
}


def _regression(
    inputs: GateInputs, baseline: EvalRun | None, subject: EvalRun | None, this: Gate
) -> GateResult:
    """The paired non-inferiority test of a fresh run against its baseline, as `this` check."""
    roles, drop = inputs.roles, inputs.tolerated_drop
    bound = 0.0 - drop
    if baseline is None or subject is None:
        detail = "no eval run was recorded when the configuration became active"
        return this.result(INCONCLUSIVE, detail)
    comparison = compare(baseline.scores(), subject.scores(), inputs.thresholds)
    evidence = comparison.evidence(roles) | {
        f"{roles.baseline}_eval_run_id": baseline.id,
        f"{roles.subject}_eval_run_id": subject.id,
        "tolerated_drop": drop,
    }
    if not comparison.enough:
        return this.result(INCONCLUSIVE, comparison.shortfall(), threshold=bound, **evidence)
    status = non_inferiority(comparison, drop)
    detail = (
        f"{VERDICTS[status]}: paired mean change {comparison.gain:+.3f} since it became active "
        f"over {comparison.paired} items, 95% interval [{comparison.low:+.3f}, "
        f"{comparison.high:+.3f}]; a regression is an interval wholly below {bound:+.3f}"
    )
    return this.result(status, detail, observed=comparison.gain, threshold=bound, **evidence)


@gate("regression", MONITOR)
def gate_regression(inputs: GateInputs, this: Gate) -> GateResult:
    """Fail when the fresh run is surely worse than the baseline by more than the tolerated drop."""
    return _regression(inputs, inputs.baseline, inputs.subject, this)


@gate("canary_regression", MONITOR)
def gate_canary_regression(inputs: GateInputs, this: Gate) -> GateResult | None:
    """The regression test on the canary set; None when the spec declares no canary set."""
    if inputs.canary_baseline is None and inputs.canary_subject is None:
        return None
    return _regression(inputs, inputs.canary_baseline, inputs.canary_subject, this)


@gate("floor", MONITOR)
def gate_floor(inputs: GateInputs, this: Gate) -> GateResult:
    """Fail when the fresh run's mean is below the spec's floor."""
    return quality_floor(inputs, this)
