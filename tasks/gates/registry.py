"""Which checks run where: per transition and stage, for the hybrid, and in monitoring.

Adding a gate is one check function declared with `@gate(name, stage, unit)` (`results.py`;
`GateInputs` → `GateResult | None`) plus one line in a list below. A check that does not
apply returns None and is left out of the results: `canary` runs only when the spec declares
a canary set, so a use case without one is gated as before, with no result that would pass
on no evidence.

The RAG → fine-tuning need is ONE entry check, `need`: it passes when either need holds
(active quality below the target, or 30-day volume at or above the break-even volume) and
carries both answers in its evidence, so every registered entry check must pass.
"""

from collections.abc import Callable, Sequence

from state.domain import GateResult
from state.phases import Phase, Stage
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
)
from tasks.gates.guardrails import gate_guardrail_regressions, gate_guardrails
from tasks.gates.inputs import GateInputs, Transition
from tasks.gates.latency import gate_latency
from tasks.gates.live import (
    LiveInputs,
    gate_live_error_rate,
    gate_live_latency,
    gate_live_primary,
    gate_live_sample_ratio,
)
from tasks.gates.monitoring import gate_canary_regression, gate_floor, gate_regression
from tasks.gates.power import gate_eval_power
from tasks.gates.results import declare

# Results the flows make themselves, not checks of `GateInputs`: declared here all the same.
PROMPT_AB = declare("prompt_ab", Stage.PROMOTION)
ONLINE_AB = declare("online_ab", Stage.PROMOTION)
CANDIDATE_BUILD = declare("candidate_build", Stage.PROMOTION)
ROUTING = declare("routing", Stage.PROMOTION)
DATA_LEAKAGE = declare("data_leakage", Stage.ENTRY)
APPROVAL = declare("approval", Stage.APPROVAL)
CHECKPOINT_SELECTION = declare("checkpoint_selection", Stage.PROMOTION)
PILOT = declare("pilot", Stage.PROMOTION)
GOLDEN_SET = declare("golden_set", Stage.PROMOTION, unit="count")
SUCCESSOR = declare("successor", Stage.PROMOTION)

# A check answers one result, None when it does not apply, or one result per spec entry.
Check = Callable[[GateInputs], GateResult | Sequence[GateResult] | None]

CHECKS: dict[Transition, dict[Stage, list[Check]]] = {
    Phase.PROMPTING.transition: {
        Stage.ENTRY: [gate_need_quality, gate_data_documents, gate_eval_power],
        Stage.PROMOTION: [gate_quality_gain, gate_guardrails, gate_quality_floor, gate_latency],
    },
    Phase.RAG.transition: {
        Stage.ENTRY: [gate_need, gate_data_examples, gate_privacy, gate_eval_power],
        Stage.PROMOTION: [
            gate_quality_gain,
            gate_guardrails,
            gate_quality_floor,
            gate_latency,
            gate_cost_break_even,
            gate_canary,
        ],
    },
}
# The hybrid against the tuned model alone (`check_hybrid`), after its `routing` check.
HYBRID_CHECKS: list[Check] = [
    gate_hybrid_gain,
    gate_guardrails,
    gate_quality_floor,
    gate_latency,
    gate_canary,
]
# A retirement's successor against the retiring configuration's golden set (objective
# `retirement`: quality_gain is paired non-inferiority within max_quality_loss).
RETIREMENT_CHECKS: list[Check] = [
    gate_quality_gain,
    gate_agreement,
    gate_guardrails,
    gate_quality_floor,
    gate_latency,
]
# A fresh run of an active (or earlier) configuration against its activation run.
MONITOR_CHECKS: list[Check] = [
    gate_regression,
    gate_guardrail_regressions,
    gate_floor,
    gate_canary_regression,
]


# Stage.ROLLOUT: the arms of a rollout step compared on live interactions (tasks/gates/live.py).
# The sample-ratio check comes first: when it fails, the others are no evidence.
LiveCheck = Callable[[LiveInputs], GateResult | None]
ROLLOUT_CHECKS: list[LiveCheck] = [
    gate_live_sample_ratio,
    gate_live_primary,
    gate_live_error_rate,
    gate_live_latency,
]


def run_rollout_checks(inputs: LiveInputs) -> list[GateResult]:
    """Run the rollout stage's checks in order, leaving out those that do not apply."""
    return [result for check in ROLLOUT_CHECKS if (result := check(inputs)) is not None]


def apply_checks(checks: Sequence[Check], inputs: GateInputs) -> list[GateResult]:
    """Run checks in order, drop those that do not apply, name them with the roles' prefix."""
    results: list[GateResult] = []
    for check in checks:
        answer = check(inputs)
        if answer is None:
            continue
        results.extend([answer] if isinstance(answer, GateResult) else answer)
    prefix = inputs.roles.prefix
    if not prefix:
        return results
    return [r.model_copy(update={"check": prefix + r.check}) for r in results]


def run_checks(inputs: GateInputs, stage: Stage | str) -> list[GateResult]:
    """Run the checks registered for the inputs' transition at one stage, in order."""
    return apply_checks(CHECKS[inputs.transition][Stage(stage)], inputs)
