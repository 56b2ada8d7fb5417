"""Rollout checks: the arms compared on live interactions, valid however often they are read.

Each check reads `LiveInputs` (the control's and the canary's interactions of the current
step) and answers pass, fail or inconclusive with always-valid bounds from `tasks.live_stats`:

- `live_sample_ratio`: the arms' counts against the split's weights (chi-square); a p-value
  below 0.001 fails — the split is broken and no other check can be trusted;
- `live_<primary>` (`live_rating` or `live_label_agreement`): superiority (margin 0): pass
  when the whole interval is above 0, fail when it is below;
- `live_error_rate`, `live_latency`: non-inferiority within the spec's margins; left out when
  no interaction of either arm reports the value.
"""

from pydantic import BaseModel, ConfigDict, Field

from state.domain import GateResult, Observation
from state.phases import Stage
from state.spec_rollout import LiveMetrics
from tasks.gates.results import FAIL, INCONCLUSIVE, PASS, Gate, declare, gate
from tasks.live_stats import difference_sequence, live_status, sample_ratio_p_value

SAMPLE_RATIO_ALPHA = 0.001
# The primary check's name follows the spec's primary live metric: both are declared here.
LIVE_PRIMARY = {
    "rating": declare("live_rating", Stage.ROLLOUT),
    "label_agreement": declare("live_label_agreement", Stage.ROLLOUT),
}


def agrees(output: str, label: str) -> float:
    """1.0 when the output equals the label (case and surrounding space aside), else 0.0."""
    return float(output.strip().casefold() == label.strip().casefold())


class ArmSample(BaseModel):
    """One arm's interactions of a step, as the lists the checks compare."""

    model_config = ConfigDict(frozen=True)

    name: str
    configuration_id: int
    interactions: int = 0
    ratings: list[float] = Field(default_factory=list)
    agreements: list[float] = Field(default_factory=list)
    errors: list[float] = Field(default_factory=list)
    latencies: list[float] = Field(default_factory=list)

    @classmethod
    def of(cls, name: str, configuration_id: int, seen: list[Observation]) -> "ArmSample":
        """The sample of one arm from the interactions it served."""
        mine = [o for o in seen if o.configuration_id == configuration_id]
        return cls(
            name=name,
            configuration_id=configuration_id,
            interactions=len(mine),
            ratings=[o.rating for o in mine if o.rating is not None],
            agreements=[agrees(o.output, o.label) for o in mine if o.label is not None],
            errors=[float(o.error) for o in mine if o.error is not None],
            latencies=[o.latency_ms for o in mine if o.latency_ms is not None],
        )


class LiveInputs(BaseModel):
    """What the rollout checks read: both arms of the step, the split and the spec's metrics."""

    model_config = ConfigDict(frozen=True)

    use_case: str
    control: ArmSample
    canary: ArmSample
    weights: list[float] = Field(description="per-cent shares: control, canary")
    metrics: LiveMetrics = LiveMetrics()


@gate("live_sample_ratio", Stage.ROLLOUT)
def gate_live_sample_ratio(inputs: LiveInputs, this: Gate) -> GateResult:
    """Fail when the arms' counts depart from the split's weights beyond chance (p < 0.001)."""
    counts = [inputs.control.interactions, inputs.canary.interactions]
    return sample_ratio_result(this, counts, inputs.weights)


def sample_ratio_result(this: Gate, counts: list[int], weights: list[float]) -> GateResult:
    """The sample-ratio check of any number of arms: their counts against their weights."""
    p_value = sample_ratio_p_value(counts, weights)
    broken = p_value < SAMPLE_RATIO_ALPHA
    detail = (
        f"the arms' counts {counts} depart from the split {weights} (chi-square p = "
        f"{p_value:.2g}): the split is broken and the live evidence cannot be trusted"
        if broken
        else f"the arms' counts {counts} fit the split {weights} (p = {p_value:.2g})"
    )
    return this.result(
        FAIL if broken else PASS,
        detail,
        observed=p_value,
        threshold=SAMPLE_RATIO_ALPHA,
        counts=counts,
        weights=weights,
    )


def _compare(
    this: Gate,
    inputs: LiveInputs,
    field: str,
    *,
    margin: float,
    higher_is_better: bool,
    what: str,
) -> GateResult:
    """Compare one metric of the arms with an always-valid interval and the spec's margin."""
    metrics = inputs.metrics
    control, canary = getattr(inputs.control, field), getattr(inputs.canary, field)
    interval = difference_sequence(control, canary, alpha=metrics.alpha)
    status = live_status(
        interval, margin=margin, min_per_arm=metrics.min_per_arm, higher_is_better=higher_is_better
    )
    bounds = f"[{interval.low:+.4g}, {interval.high:+.4g}]"
    arm = inputs.canary.name
    smaller = min(interval.n_control, interval.n_canary)
    if smaller < metrics.min_per_arm:
        detail = f"{what}: {smaller} interactions in the smaller arm, {metrics.min_per_arm} needed"
    elif status == PASS:
        detail = f"{what}: {arm} − control {bounds} is clear of the margin {margin:g}"
    elif status == FAIL:
        detail = f"{what}: {arm} is worse, {arm} − control {bounds} beyond {margin:g}"
    else:
        detail = f"{what}: {arm} − control {bounds} still straddles the margin {margin:g}"
    return this.result(
        status,
        detail,
        observed=interval.estimate,
        threshold=-margin if higher_is_better else margin,
        low=interval.low if smaller >= 2 else None,
        high=interval.high if smaller >= 2 else None,
        n_control=interval.n_control,
        n_canary=interval.n_canary,
        method=interval.method,
        alpha=metrics.alpha,
        min_per_arm=metrics.min_per_arm,
    )


def gate_live_primary(inputs: LiveInputs) -> GateResult:
    """Pass when the canary is better on the primary metric (rating or label agreement)."""
    metrics = inputs.metrics
    field = "ratings" if metrics.primary == "rating" else "agreements"
    result = _compare(
        LIVE_PRIMARY[metrics.primary],
        inputs,
        field,
        margin=0.0,
        higher_is_better=True,
        what=metrics.primary.replace("_", " "),
    )
    low, high = result.evidence["low"], result.evidence["high"]
    evidence = result.evidence | {"min_effect": metrics.min_effect}
    if result.status == INCONCLUSIVE and low is not None and -metrics.min_effect < low:
        if high < metrics.min_effect:
            detail = f"{result.detail}; no difference of ±{metrics.min_effect:g} either way"
            return result.model_copy(update={"detail": detail, "evidence": evidence})
    return result.model_copy(update={"evidence": evidence})


@gate("live_error_rate", Stage.ROLLOUT)
def gate_live_error_rate(inputs: LiveInputs, this: Gate) -> GateResult | None:
    """Pass when the canary's error rate is at most the control's plus the margin."""
    if not (inputs.control.errors or inputs.canary.errors):
        return None
    margin = inputs.metrics.error_rate_margin
    return _compare(this, inputs, "errors", margin=margin, higher_is_better=False, what="errors")


@gate("live_latency", Stage.ROLLOUT, unit="ms")
def gate_live_latency(inputs: LiveInputs, this: Gate) -> GateResult | None:
    """Pass when the canary's mean latency is at most the control's plus the margin (ms)."""
    if not (inputs.control.latencies or inputs.canary.latencies):
        return None
    margin = inputs.metrics.latency_margin_ms
    return _compare(
        this,
        inputs,
        "latencies",
        margin=margin,
        higher_is_better=False,
        what="latency (ms)",
    )
