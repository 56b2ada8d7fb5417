"""The latency check: the subject's p95 with its bootstrap interval against the budgets.

Latency is three-valued like quality: the p95 (and p50) of the per-item waits come with a
95 % bootstrap interval over the items. Against a budget the check fails only when the
interval's lower bound is above it, passes when the upper bound is within it, and is
inconclusive otherwise — two slow calls in 36 under a passing load decide nothing.

The waits are read from `latency_pairs` when the flow measured the baseline and the subject
interleaved in one run (same items, same concurrency, so the same load); then the evidence
also carries the paired difference (subject − baseline per item) and, with the spec's
`max_latency_ratio`, the p95 ratio is gated too. Without pairs, the subject's eval run is read,
unless it was scored through the Batch API (its waits are the batch's): then inconclusive.
"""

from state.domain import GateResult, LatencyPairs
from state.phases import GateStatus, Stage
from tasks.gates.inputs import GateInputs
from tasks.gates.results import FAIL, INCONCLUSIVE, PASS, Gate, gate, worst
from tasks.latency_stats import (
    Estimate,
    paired_difference,
    paired_ratio_interval,
    quantile_interval,
)

# Below this many items a p95 is the slowest call or next to it: no interval means anything.
MIN_LATENCY_ITEMS = 20


def against(estimate: Estimate, limit: float) -> GateStatus:
    """Fail when the interval lies above the limit, pass when within it, else inconclusive."""
    if estimate.low > limit:
        return FAIL
    return PASS if estimate.high <= limit else INCONCLUSIVE


def _ms(estimate: Estimate) -> str:
    """`1,489 ms [1,210, 2,100]`."""
    return f"{estimate.value:,.0f} ms [{estimate.low:,.0f}, {estimate.high:,.0f}]"


def _figures(estimate: Estimate, prefix: str) -> dict[str, float]:
    """Evidence keys of one estimate: value and interval."""
    return {prefix: estimate.value, f"{prefix}_low": estimate.low, f"{prefix}_high": estimate.high}


def _waits(inputs: GateInputs) -> tuple[list[float], str]:
    """The subject's per-item waits and where they come from."""
    pairs, subject = inputs.latency_pairs, inputs.subject
    if pairs is not None and pairs.interleaved:
        source = (
            f"measured interleaved with {inputs.roles.baseline_name} on {len(pairs.item_ids)} "
            f"items at concurrency {pairs.concurrency}"
        )
        return pairs.subject_ms, source
    return ([r.latency_ms for r in subject.results] if subject else []), "its eval run"


def _paired(inputs: GateInputs, pairs: LatencyPairs) -> tuple[GateStatus, str, dict]:
    """The paired difference and, with `max_latency_ratio`, the gated p95 ratio."""
    roles, ratio_limit = inputs.roles, inputs.constraints.max_latency_ratio
    base, subj = pairs.baseline_ms, pairs.subject_ms
    difference = paired_difference(base, subj)
    base_p95 = quantile_interval(base, 0.95)
    evidence = _figures(difference, "paired_difference_ms") | _figures(
        base_p95, f"{roles.baseline}_p95_ms"
    )
    said = (
        f"; paired with {roles.baseline_name} (p95 {_ms(base_p95)}): "
        f"{difference.value:+,.0f} ms [{difference.low:+,.0f}, {difference.high:+,.0f}] per call"
    )
    if ratio_limit is None:
        return PASS, said, evidence
    ratio = paired_ratio_interval(base, subj, 0.95)
    status = against(ratio, ratio_limit)
    evidence |= _figures(ratio, "p95_ratio") | {"max_latency_ratio": ratio_limit}
    word = {PASS: "within", FAIL: "above", INCONCLUSIVE: "straddles"}[status]
    said += (
        f"; p95 ratio {ratio.value:.2f} [{ratio.low:.2f}, {ratio.high:.2f}] {word} "
        f"the limit {ratio_limit:g}×"
    )
    return status, said, evidence


def _batch_scored(inputs: GateInputs) -> bool:
    """Whether the waits would come from a run scored through the Batch API."""
    pairs, run = inputs.latency_pairs, inputs.subject
    interleaved = pairs is not None and pairs.interleaved
    return not interleaved and run is not None and (run.extra or {}).get("transport") == "batch"


@gate("latency", Stage.PROMOTION, unit="ms")
def gate_latency(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when the subject's p95 interval is within the latency budget(s)."""
    budget, subject = inputs.constraints.latency_p95_ms, inputs.roles.subject
    if _batch_scored(inputs):
        # A batch answer waits for its batch: that wait says nothing of serving latency.
        detail = f"{subject} was scored through the Batch API: no serving latency was measured"
        return this.result(INCONCLUSIVE, detail, threshold=budget, **inputs.runs())
    waits, source = _waits(inputs)
    if len(waits) < MIN_LATENCY_ITEMS:
        detail = f"{len(waits)} timed calls of the {subject} (needs {MIN_LATENCY_ITEMS})"
        return this.result(INCONCLUSIVE, detail, threshold=budget)
    p95, p50 = quantile_interval(waits, 0.95), quantile_interval(waits, 0.5)
    status = against(p95, budget)
    word = {PASS: "within", FAIL: "above", INCONCLUSIVE: "straddles"}[status]
    detail = (
        f"{subject} p95 {_ms(p95)} {word} the budget {budget:,.0f} ms (p50 {p50.value:,.0f} ms, "
        f"{source})"
    )
    evidence = {
        **inputs.runs(),
        "n": len(waits),
        "measured": source,
        **_figures(p95, "p95_ms"),
        **_figures(p50, "p50_ms"),
    }
    pairs = inputs.latency_pairs
    if pairs is not None:
        paired_status, said, more = _paired(inputs, pairs)
        status, detail, evidence = worst(status, paired_status), detail + said, evidence | more
    return this.result(
        status,
        detail,
        observed=p95.value,
        threshold=budget,
        **evidence,
    )
