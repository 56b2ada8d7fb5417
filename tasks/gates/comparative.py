"""Promotion checks that compare the subject with the baseline: gain, canary, break-even."""

from state.domain import GateResult
from state.phases import GateStatus, Stage
from tasks.costs import TokensPerQuery, break_even
from tasks.gates.inputs import GateInputs, Objective, fine_tuning_thresholds
from tasks.gates.paired import (
    Comparison,
    compare,
    non_inferiority,
    superiority,
    within_loss,
)
from tasks.gates.results import FAIL, INCONCLUSIVE, PASS, Gate, gate, passed, worst

PROMOTION = Stage.PROMOTION


def _relative_gain(
    minimum: float | None, baseline_mean: float, subject_mean: float
) -> tuple[GateStatus, float | None]:
    """Check subject mean / baseline mean − 1 against `min_relative_gain`, when one is set."""
    if minimum is None:
        return PASS, None
    if baseline_mean == 0:
        return INCONCLUSIVE, None
    relative = subject_mean / baseline_mean - 1
    return passed(relative >= minimum), relative


def paired_gain(inputs: GateInputs, this: Gate) -> GateResult:
    """The paired test of a required gain of the subject over the baseline, as `this` check."""
    gate, roles = inputs.thresholds, inputs.roles
    baseline, subject = inputs.baseline, inputs.subject
    if baseline is None or subject is None:
        detail = f"needs eval runs of both {roles.baseline_name} and {roles.subject_name}"
        return this.result(INCONCLUSIVE, detail, **inputs.runs())
    comparison = compare(baseline.scores(), subject.scores(), gate)
    evidence = inputs.runs() | comparison.evidence(roles)
    if not comparison.enough:
        return this.result(
            INCONCLUSIVE,
            comparison.shortfall(),
            threshold=gate.min_gain,
            **evidence,
        )
    if inputs.objective != Objective.QUALITY:
        return _no_real_loss(inputs, this, comparison, evidence)
    status = superiority(comparison, gate.min_gain)
    relative_status, relative = _relative_gain(
        gate.min_relative_gain, comparison.baseline_mean, comparison.subject_mean
    )
    detail = (
        f"paired mean gain {comparison.interval()}; pass needs a lower bound > min_gain "
        f"{gate.min_gain:+.3f} and a positive mean gain ({_why(inputs)})"
    )
    if status == FAIL and comparison.high <= 0:
        detail = f"{roles.subject_name} gains nothing over {roles.baseline_name}: {detail}"
    if gate.min_relative_gain is not None:
        shown = f"undefined ({roles.baseline} mean 0)" if relative is None else f"{relative:+.1%}"
        detail += f"; relative gain {shown} against {gate.min_relative_gain:+.1%}"
    return this.result(
        worst(status, relative_status),
        detail,
        observed=comparison.gain,
        threshold=gate.min_gain,
        **evidence,
        relative_gain=relative,
        min_relative_gain=gate.min_relative_gain,
        rule="superiority",
        objective=str(inputs.objective),
    )


def _why(inputs: GateInputs) -> str:
    """Which rule applied and why, for a detail."""
    rule = "superiority" if inputs.objective == Objective.QUALITY else "non-inferiority"
    return f"rule: {rule}, objective {inputs.objective}: {inputs.objective_reason}"


def _no_real_loss(
    inputs: GateInputs, this: Gate, comparison: Comparison, evidence: dict
) -> GateResult:
    """A move made for cost or a retirement: paired non-inferiority within max_quality_loss."""
    margin = inputs.thresholds.max_quality_loss
    status = within_loss(comparison, margin)
    detail = (
        f"paired mean change {comparison.interval()}; pass needs a lower bound > "
        f"−max_quality_loss {-margin:+.3f}, fail is an upper bound below it ({_why(inputs)})"
    )
    return this.result(
        status,
        detail,
        observed=comparison.gain,
        threshold=-margin,
        **evidence,
        rule="non_inferiority",
        objective=str(inputs.objective),
        max_quality_loss=margin,
    )


@gate("quality_gain", PROMOTION)
def gate_quality_gain(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when a seeded paired bootstrap shows the candidate beats the active configuration."""
    return paired_gain(inputs, this)


@gate("hybrid_gain", PROMOTION)
def gate_hybrid_gain(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when the hybrid beats the tuned model alone by the paired test."""
    return paired_gain(inputs, this)


@gate("canary", PROMOTION)
def gate_canary(inputs: GateInputs, this: Gate) -> GateResult | None:
    """Pass when the subject does not score below the baseline on the canary set.

    A paired non-inferiority test with no margin on the general canary set: fail when the
    whole interval of the change lies below 0 (the candidate forgot), pass when its lower
    bound is at least 0, else inconclusive. None when no canary set is declared.
    """
    baseline, subject = inputs.canary_baseline, inputs.canary_subject
    if baseline is None and subject is None:
        return None
    roles = inputs.roles
    runs = {
        f"{roles.baseline}_eval_run_id": baseline.id if baseline else None,
        f"{roles.subject}_eval_run_id": subject.id if subject else None,
    }
    if baseline is None or subject is None:
        detail = (
            f"on the canary set, needs eval runs of both {roles.baseline_name} "
            f"and {roles.subject_name}"
        )
        return this.result(INCONCLUSIVE, detail, threshold=0.0, **runs)
    comparison = compare(baseline.scores(), subject.scores(), inputs.thresholds)
    evidence = runs | comparison.evidence(roles)
    if not comparison.enough:
        detail = f"on the canary set, {comparison.shortfall()}"
        return this.result(INCONCLUSIVE, detail, threshold=0.0, **evidence)
    detail = (
        f"on the canary set, paired mean gain {comparison.interval()}; "
        "a drop is an interval wholly below +0.000"
    )
    return this.result(
        non_inferiority(comparison, 0.0),
        detail,
        observed=comparison.gain,
        threshold=0.0,
        **evidence,
    )


def _break_even_unknowns(inputs: GateInputs) -> list[str]:
    """What the break-even needs and the inputs lack (empty: it can be estimated)."""
    known = {
        "active eval run": inputs.baseline,
        "candidate eval run": inputs.subject,
        "price of the active model": inputs.prices_active,
        "price of the candidate model": inputs.prices_candidate,
        "training tokens": inputs.training_tokens,
    }
    missing = [name for name, value in known.items() if value is None]
    if inputs.volume_30d == 0:
        missing.append("queries in the last 30 days")
    return missing


@gate("cost_break_even", PROMOTION, unit="months")
def gate_cost_break_even(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when monthly savings recover the training cost within the allowed months."""
    gate, active, candidate = fine_tuning_thresholds(inputs), inputs.baseline, inputs.subject
    prices_active, prices_candidate = inputs.prices_active, inputs.prices_candidate
    training_tokens, volume = inputs.training_tokens, inputs.volume_30d
    threshold = gate.max_break_even_months
    if missing := _break_even_unknowns(inputs):
        detail = "cannot estimate the break-even without: " + ", ".join(missing)
        return this.result(
            INCONCLUSIVE, detail, threshold=threshold, volume_30d=volume, **inputs.runs()
        )
    tokens_active = TokensPerQuery(
        active.prompt_tokens_per_query, active.completion_tokens_per_query
    )
    tokens_candidate = TokensPerQuery(
        candidate.prompt_tokens_per_query, candidate.completion_tokens_per_query
    )
    numbers = break_even(
        volume_30d=volume,
        price_active=prices_active,
        price_candidate=prices_candidate,
        tokens_active=tokens_active,
        tokens_candidate=tokens_candidate,
        training_tokens=training_tokens,
    )
    months = numbers.months
    spend = (
        f"training ${numbers.training_cost:,.2f}, savings ${numbers.monthly_savings:,.2f} "
        f"a month at {volume} queries"
    )
    if months is None:
        status, detail = FAIL, f"fine-tuning saves nothing: {spend}"
    else:
        status = passed(months <= threshold)
        verb = "within" if status == PASS else "beyond"
        detail = f"break-even in {months:.2f} months, {verb} {threshold:g}: {spend}"
    return this.result(
        status,
        detail,
        observed=months,
        threshold=threshold,
        **inputs.runs(),
        **numbers.model_dump(),
        prices_active=prices_active.model_dump(),
        prices_candidate=prices_candidate.model_dump(),
        tokens_active=tokens_active._asdict(),
        tokens_candidate=tokens_candidate._asdict(),
    )
