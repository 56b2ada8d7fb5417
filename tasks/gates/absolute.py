"""Checks of the subject run alone against an absolute threshold: the quality floor."""

from state.domain import GateResult
from state.phases import Stage
from tasks.gates.inputs import GateInputs
from tasks.gates.results import INCONCLUSIVE, Gate, gate, passed


def quality_floor(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when the subject's mean quality reaches the spec's floor (`this` names the check)."""
    floor, run, subject = inputs.thresholds.floor, inputs.subject, inputs.roles.subject
    if run is None or run.n == 0:
        detail = f"no scored eval run of the {subject} yet"
        return this.result(INCONCLUSIVE, detail, threshold=floor)
    reached = run.mean >= floor
    detail = (
        f"{subject} quality {run.mean:.3f} {'reaches' if reached else 'is below'} "
        f"the floor {floor:.3f}"
    )
    return this.result(
        passed(reached),
        detail,
        observed=run.mean,
        threshold=floor,
        **{f"{subject}_eval_run_id": run.id},
        n=run.n,
    )


@gate("quality_floor", Stage.PROMOTION)
def gate_quality_floor(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when the candidate's quality reaches the spec's absolute floor."""
    return quality_floor(inputs, this)
