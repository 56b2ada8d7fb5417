"""Guardrail checks: a metric that must not get worse than the baseline by more than a margin.

One `guardrail_<name>` result per guardrail of the spec: the paired non-inferiority test of
`paired.py` on the metric's per-item values (signed so that positive is better), with the
guardrail's margin (absolute, or relative to the baseline's mean), plus its optional floor
and ceiling on the subject's mean. Fail when the subject is surely worse by more than the
margin or misses a bound; pass when the interval lies wholly within the margin; else
inconclusive (too few items with a value included).
"""

from state.domain import GateResult
from state.phases import GateStatus, Stage
from state.spec_metrics import Guardrail
from tasks.gates.inputs import GateInputs
from tasks.gates.paired import Comparison, compare, non_inferiority
from tasks.gates.results import INCONCLUSIVE, Gate, gate, passed, worst
from tasks.guardrail_metrics import direction_of, values


def _bounds(guardrail: Guardrail, mean: float) -> tuple[GateStatus, str]:
    """The floor and ceiling on the subject's mean: status and wording."""
    status, said = passed(True), []
    if guardrail.floor is not None:
        status = worst(status, passed(mean >= guardrail.floor))
        said.append(f"floor {guardrail.floor:g}")
    if guardrail.ceiling is not None:
        status = worst(status, passed(mean <= guardrail.ceiling))
        said.append(f"ceiling {guardrail.ceiling:g}")
    return status, (f"; {' and '.join(said)} on the mean" if said else "")


def _margin(guardrail: Guardrail, comparison: Comparison) -> float:
    """The margin in the metric's units: absolute, or a share of the baseline's mean."""
    if guardrail.relative:
        return guardrail.margin * abs(comparison.baseline_mean or 0.0)
    return guardrail.margin


def guardrail_result(inputs: GateInputs, guardrail: Guardrail, family: Gate) -> GateResult:
    """The non-inferiority test of one guardrail metric, subject against baseline."""
    roles, this = inputs.roles, Gate(guardrail.gate, family.stage, family.unit)
    baseline, subject = inputs.baseline, inputs.subject
    if baseline is None or subject is None:
        detail = f"needs eval runs of both {roles.baseline_name} and {roles.subject_name}"
        return this.result(INCONCLUSIVE, detail, **inputs.runs())
    direction = direction_of(guardrail)
    comparison = compare(
        values(baseline, guardrail, inputs.prices_active),
        values(subject, guardrail, inputs.prices_candidate),
        inputs.thresholds,
        lower_is_better=direction == "lower",
    )
    evidence = (
        inputs.runs()
        | comparison.evidence(roles)
        | {
            "metric": guardrail.metric,
            "direction": direction,
            "margin": guardrail.margin,
            "relative": guardrail.relative,
        }
    )
    if not comparison.enough:
        detail = f"{guardrail.metric}: {comparison.shortfall()}"
        return this.result(INCONCLUSIVE, detail, **evidence)
    margin = _margin(guardrail, comparison)
    bounds, bounds_said = _bounds(guardrail, comparison.subject_mean)
    status = worst(non_inferiority(comparison, margin), bounds)
    detail = (
        f"{guardrail.metric} ({direction} is better): {roles.subject} "
        f"{comparison.subject_mean:.4g}, {roles.baseline} {comparison.baseline_mean:.4g}; "
        f"paired change for the better {comparison.interval()}; worse by more than "
        f"{margin:.4g} fails{bounds_said}"
    )
    return this.result(
        status,
        detail,
        observed=comparison.gain,
        threshold=0.0 - margin,
        **evidence,
        margin_in_units=margin,
        floor=guardrail.floor,
        ceiling=guardrail.ceiling,
    )


@gate("guardrail", Stage.PROMOTION)
def gate_guardrails(inputs: GateInputs, this: Gate) -> list[GateResult]:
    """One promotion result per guardrail of the spec, each named `guardrail_<name>`."""
    return [guardrail_result(inputs, g, this) for g in inputs.guardrails]


@gate("guardrail_regression", Stage.MONITOR)
def gate_guardrail_regressions(inputs: GateInputs, this: Gate) -> list[GateResult]:
    """One monitoring result per guardrail: has a fresh run regressed on it?"""
    return [guardrail_result(inputs, g, this) for g in inputs.guardrails]
