"""The gates: the checks that guard each move, what they read, and what their results decide.

A gate check is a pure function of `GateInputs` that answers pass, fail or inconclusive as a
`GateResult` value (or None when it does not apply). The package is split by role:

    inputs.py       transitions (from `Phase`), `Roles` of the compared runs, `GateInputs`
    results.py      `@gate`: a check's name, stage and unit said once (`GATES`); `passed`, `worst`
    entry.py        entry checks: need (quality, volume), data, privacy
    absolute.py     the subject alone against a threshold: quality floor
    latency.py      `latency`: the p95 interval against the budget, paired when interleaved
    paired.py       the paired comparison and its rules (superiority, non-inferiority,
                    within_loss for moves made for cost or a retirement)
    comparative.py  promotion checks against the baseline: gain, canary, break-even
    agreement.py    `agreement`: a retirement's successor answers as the golden set did
    guardrails.py   `guardrail_<name>`: metrics that must not regress beyond a margin
    power.py        the entry check `eval_power`: can the eval set detect the required gain?
    monitoring.py   regression checks of a fresh run against its activation run
    live.py         rollout checks: the arms of a step compared on live interactions
    live_ab.py      an online A/B: each variant against the control at α split, SRM over all
    registry.py     which checks run for each transition and stage, the hybrid, monitoring
    verdict.py      `Verdict`, `verdict`, `entry_met`, `entry_reason`

Adding a gate is one `@gate` function plus one line in `registry.py` (see docs/gates.md).
"""

from tasks.gates.absolute import gate_quality_floor
from tasks.gates.agreement import gate_agreement
from tasks.gates.comparative import (
    gate_canary,
    gate_cost_break_even,
    gate_hybrid_gain,
    gate_quality_gain,
)
from tasks.gates.entry import (
    gate_data_documents,
    gate_data_examples,
    gate_need,
    gate_need_quality,
    gate_privacy,
    move_objective,
)
from tasks.gates.guardrails import gate_guardrail_regressions, gate_guardrails
from tasks.gates.inputs import (
    HYBRID,
    MONITOR,
    PHASE_CHECK,
    RESTORED,
    THRESHOLDS,
    TRANSITIONS,
    GateInputs,
    Objective,
    Roles,
    Transition,
    transition_into,
)
from tasks.gates.latency import gate_latency
from tasks.gates.live import ArmSample, LiveInputs
from tasks.gates.monitoring import gate_canary_regression, gate_floor, gate_regression
from tasks.gates.power import gate_eval_power
from tasks.gates.registry import (
    APPROVAL,
    CANDIDATE_BUILD,
    CHECKS,
    DATA_LEAKAGE,
    HYBRID_CHECKS,
    MONITOR_CHECKS,
    ONLINE_AB,
    PROMPT_AB,
    RETIREMENT_CHECKS,
    ROLLOUT_CHECKS,
    ROUTING,
    Check,
    apply_checks,
    run_checks,
    run_rollout_checks,
)
from tasks.gates.results import (
    FAIL,
    GATES,
    INCONCLUSIVE,
    PASS,
    Gate,
    gate,
    gate_result,
    passed,
    unit_of,
    worst,
)
from tasks.gates.verdict import Verdict, entry_met, entry_reason, unmet, verdict

__all__ = [
    "APPROVAL",
    "CANDIDATE_BUILD",
    "CHECKS",
    "DATA_LEAKAGE",
    "GATES",
    "Gate",
    "ONLINE_AB",
    "PROMPT_AB",
    "ROUTING",
    "gate",
    "unit_of",
    "FAIL",
    "HYBRID",
    "HYBRID_CHECKS",
    "INCONCLUSIVE",
    "MONITOR",
    "MONITOR_CHECKS",
    "PASS",
    "PHASE_CHECK",
    "RETIREMENT_CHECKS",
    "RESTORED",
    "ROLLOUT_CHECKS",
    "THRESHOLDS",
    "TRANSITIONS",
    "ArmSample",
    "Check",
    "GateInputs",
    "LiveInputs",
    "Objective",
    "Roles",
    "Transition",
    "Verdict",
    "entry_met",
    "entry_reason",
    "gate_agreement",
    "gate_canary",
    "gate_canary_regression",
    "gate_cost_break_even",
    "gate_data_documents",
    "gate_data_examples",
    "gate_eval_power",
    "gate_floor",
    "gate_guardrail_regressions",
    "gate_guardrails",
    "gate_hybrid_gain",
    "gate_latency",
    "gate_need",
    "gate_need_quality",
    "gate_privacy",
    "gate_quality_floor",
    "gate_quality_gain",
    "gate_regression",
    "gate_result",
    "move_objective",
    "passed",
    "apply_checks",
    "run_checks",
    "run_rollout_checks",
    "transition_into",
    "unmet",
    "verdict",
    "worst",
]
