"""The `model_retirement` check: a model of the active configuration shuts down soon."""

from state.domain import GateResult, RetirementNotice
from state.phases import GateStatus, Stage
from tasks.gates.results import declare

# Not a check of `GateInputs` (it reads a notice): declared here, where it is written.
MODEL_RETIREMENT = declare("model_retirement", Stage.MONITOR, unit="count")


def gate_model_retirement(notice: RetirementNotice, horizon_days: int) -> GateResult:
    """Fail: the model shuts down within the horizon (or has already), so the use case is held."""
    when = notice.shutdown_date.isoformat()
    if notice.days_left < 0:
        left = f"shut down on {when}, {-notice.days_left} days ago"
    else:
        left = f"shuts down on {when}, in {notice.days_left} days"
    detail = (
        f"{notice.model} {left} (within the {horizon_days}-day horizon; source: {notice.source})"
    )
    return MODEL_RETIREMENT.result(
        GateStatus.FAIL,
        detail,
        observed=notice.days_left,
        threshold=horizon_days,
        model=notice.model,
        shutdown_date=when,
        days_left=notice.days_left,
        source=notice.source,
        configuration_id=notice.configuration_id,
    )
