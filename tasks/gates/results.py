"""The one way to build a gate result, and the small rules that combine statuses."""

from typing import Any

from state.domain import GateResult, Scalar
from state.phases import GateStatus, Stage

PASS, FAIL, INCONCLUSIVE = GateStatus.PASS, GateStatus.FAIL, GateStatus.INCONCLUSIVE


def gate_result(
    check: str,
    stage: Stage | str,
    status: GateStatus,
    detail: str,
    *,
    observed: Scalar = None,
    threshold: Scalar = None,
    **evidence: Any,
) -> GateResult:
    """Build one check's answer; keyword arguments beyond the named ones become its evidence."""
    return GateResult(
        check=check,
        stage=Stage(stage),
        status=status,
        observed=observed,
        threshold=threshold,
        evidence=evidence,
        detail=detail,
    )


def passed(ok: bool) -> GateStatus:
    """Map a met condition to pass and an unmet one to fail."""
    return PASS if ok else FAIL


def worst(*statuses: GateStatus) -> GateStatus:
    """Return the most severe status: fail, then inconclusive, then pass."""
    return next(s for s in (FAIL, INCONCLUSIVE, PASS) if s in statuses)
