"""Monitoring checks: has the active configuration regressed since it became active?

In these inputs `active` is the baseline (the run recorded when the configuration became
active) and `candidate` is the fresh run of the same configuration. The rule:

- `regression` fails when the 95 % interval of the paired mean change (fresh − baseline, over
  the items both runs scored) lies wholly below −`tolerated_drop`: the quality gate's seeded
  bootstrap with `min_gain = −tolerated_drop`. It passes when the lower bound reaches it and is
  inconclusive in between or with fewer than `min_paired` pairs;
- `floor` fails when the fresh mean (every item, recent interactions included) is below the
  spec's floor.

Only a fail is a regression: an inconclusive check never rolls anything back.
"""

from state.domain import GateResult
from state.phases import GateStatus
from tasks.gate_checks import GateInputs, gate_quality_floor
from tasks.gates import gate_quality_gain


def gate_regression(
    inputs: GateInputs, tolerated_drop: float, *, check: str = "regression"
) -> GateResult:
    """Fail when the fresh run is surely worse than the baseline by more than the tolerated drop."""
    if inputs.active is None or inputs.candidate is None:
        detail = "no eval run was recorded when the configuration became active"
        return GateResult(
            check=check, stage="monitor", status=GateStatus.INCONCLUSIVE, detail=detail
        )
    thresholds = inputs.thresholds.model_copy(
        update={"min_gain": 0.0 - tolerated_drop, "min_relative_gain": None}
    )
    paired = gate_quality_gain(inputs.model_copy(update={"thresholds": thresholds}))
    evidence = paired.evidence | {
        "baseline_eval_run_id": inputs.active.id,
        "current_eval_run_id": inputs.candidate.id,
        "tolerated_drop": tolerated_drop,
    }
    detail = paired.detail
    if "ci_high" in evidence:
        verdict = {
            GateStatus.FAIL: "regressed",
            GateStatus.PASS: "holds",
            GateStatus.INCONCLUSIVE: "may have regressed (not rolled back on this evidence)",
        }[paired.status]
        detail = (
            f"{verdict}: paired mean change {paired.observed:+.3f} since it became active over "
            f"{evidence['paired']} items, 95% interval [{evidence['ci_low']:+.3f}, "
            f"{evidence['ci_high']:+.3f}]; a regression is an interval wholly below "
            f"{0.0 - tolerated_drop:+.3f}"
        )
    return paired.model_copy(
        update={"check": check, "stage": "monitor", "evidence": evidence, "detail": detail}
    )


def gate_floor(inputs: GateInputs) -> GateResult:
    """Fail when the fresh run's mean is below the spec's floor."""
    result = gate_quality_floor(inputs)
    detail = result.detail.replace("candidate quality", "current quality")
    return result.model_copy(update={"check": "floor", "stage": "monitor", "detail": detail})
