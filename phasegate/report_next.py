"""What the report says in words: the next step after a held move, and what a guardrail compared.

`next_step` reads the newest decision: a move held (by a failed check, by checks that could not
tell, or before it started) or an approval that expired ends the report with the command or UI
form a person can use, and the evidence that would settle each open check.
"""

import math
from dataclasses import dataclass, field

from state.domain import Decision, GateResult
from state.phases import DecisionKind, GateStatus, Stage

ENTRY_ADVICE = {
    "need_quality": "nothing to do: the active configuration already meets the quality target",
    "need": "nothing to do yet: quality meets the target and the volume is below the break-even",
    "data_documents": "add knowledge documents under the spec's `data.documents`, then "
    "`phasegate apply SPEC`",
    "data_examples": "collect labelled examples: training files under `data.training`, or "
    "labelled interactions through the webhook",
}


@dataclass(frozen=True)
class NextStep:
    """A headline, what a person can do, and what evidence would settle the open checks."""

    headline: str
    actions: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


def _names(gates: list[GateResult]) -> str:
    return ", ".join(g.check for g in gates)


def _interval_items(gate: GateResult) -> str:
    """For a paired check: how many items would settle it if the mean change held."""
    ev = gate.evidence
    low, high, n = ev.get("ci_low"), ev.get("ci_high"), ev.get("paired")
    if low is None or high is None or not n or not isinstance(gate.threshold, int | float):
        return gate.detail
    line, observed = float(gate.threshold), gate.observed
    said = (
        f"{gate.check}: the paired interval [{low:+.3f}, {high:+.3f}] over {n} items "
        f"includes {line:+.3f}"
    )
    if isinstance(observed, int | float) and observed != line:
        needed = math.ceil(n * ((high - low) / 2 / abs(observed - line)) ** 2)
        said += (
            f"; if the mean change ({observed:+.3f}) holds, about {needed:,} paired items "
            "would settle it"
        )
    return said + " — add eval items (`data.eval`) and check again"


def _latency(gate: GateResult) -> str:
    """For the latency check: its interval, and what can move it."""
    ev = gate.evidence
    if "p95_ms_low" not in ev:
        return f"latency: {gate.detail}"
    said = (
        f"latency: the p95 interval [{ev['p95_ms_low']:,.0f}, {ev['p95_ms_high']:,.0f}] ms "
        f"straddles the budget {gate.threshold:,.0f} ms — more eval items narrow it; a quieter "
        "machine or provider lowers it"
    )
    if "paired_difference_ms" in ev:
        said += (
            " (both configurations were timed interleaved: the candidate took "
            f"{ev['paired_difference_ms']:+,.0f} ms per call against the active, under the "
            "same load)"
        )
    return said


def settle(gate: GateResult) -> str:
    """What evidence would turn one inconclusive check into a pass or a fail."""
    if gate.check.endswith("latency"):
        return _latency(gate)
    if "ci_low" in gate.evidence:
        return _interval_items(gate)
    return f"{gate.check}: {gate.detail}"


def _asking(use_case: str) -> list[str]:
    """How a person answers a move that needs one."""
    return [
        f"run `phasegate check {use_case}` without `--auto-approve`: its flow run pauses for "
        "approval; answer in the Prefect UI (the form on that flow run's page, with the gate "
        f'report) or with `phasegate approve {use_case} --reason "…"` or '
        f'`phasegate reject {use_case} --reason "…"`',
    ]


def next_step(use_case: str, decision: Decision | None) -> NextStep | None:
    """What a person can do about the newest decision; None when it needs nothing."""
    if decision is None or decision.kind not in {DecisionKind.HELD, DecisionKind.EXPIRED}:
        return None
    move = f"{decision.from_phase.value} → {decision.to_phase.value}"
    gates = decision.gate_results
    entry = [g for g in gates if g.stage == Stage.ENTRY and g.status != GateStatus.PASS]
    failed = [g for g in gates if g.stage != Stage.ENTRY and g.status == GateStatus.FAIL]
    open_ = [g for g in gates if g.status == GateStatus.INCONCLUSIVE]
    if decision.kind == DecisionKind.EXPIRED:
        return NextStep(
            f"The move {move} waited for a person and no one answered in time.",
            _asking(use_case),
            [settle(g) for g in open_],
        )
    if entry:
        advice = [f"{g.check}: {ENTRY_ADVICE.get(g.check, g.detail)}" for g in entry]
        return NextStep(
            f"The move {move} did not start: {_names(entry)} not met.",
            [*advice, f"then `phasegate check {use_case}`"],
        )
    if failed:
        return NextStep(
            f"The move {move} was held: {_names(failed)} failed.",
            [
                "change what failed in the spec (prompts, `rag:`, thresholds under `gates:`), "
                f"`phasegate apply SPEC`, then `phasegate check {use_case}`",
                f"`phasegate history {use_case} --gates` shows every check's figures",
            ],
            [f"{g.check}: {g.detail}" for g in failed] + [settle(g) for g in open_],
        )
    return NextStep(
        f"The move {move} was held for a person: {_names(open_) or 'no check'} could not tell.",
        _asking(use_case),
        [settle(g) for g in open_],
    )


def compared(gate: GateResult) -> str | None:
    """A guardrail check's comparison in words; None for other checks."""
    ev = gate.evidence
    if "metric" not in ev or "direction" not in ev:
        return None
    roles = [key.removesuffix("_only") for key in ev if key.endswith("_only")]
    baseline, subject = (roles + ["active", "candidate"])[:2] if len(roles) < 2 else roles[:2]
    margin = ev.get("margin_in_units", ev.get("margin"))
    relative = f" ({ev['margin']:.0%} of the {baseline}'s mean)" if ev.get("relative") else ""
    bounds = [f"{name} {ev[name]:g}" for name in ("floor", "ceiling") if ev.get(name) is not None]
    said = (
        f"{ev['metric']} of each answer, {subject} against {baseline} on the same "
        f"{ev.get('paired', 'paired')} items ({ev['direction']} is better): it passes when the "
        f"{subject} is surely no worse than the {baseline} by more than "
        f"{margin:.4g}{relative}"
        if isinstance(margin, int | float)
        else f"{ev['metric']} of each answer, {subject} against {baseline}"
    )
    return said + (f"; {' and '.join(bounds)} on the {subject}'s mean" if bounds else "")
