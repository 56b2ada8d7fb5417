"""What a gate check is, said once (`@gate`: name, stage, unit), and how it answers.

A check is declared where it is written: `@gate("latency", Stage.PROMOTION, unit="ms")` gives
the function its `Gate`, through which it answers (`this.result(status, detail, ...)`), and
records the gate in `GATES`, where the report and the CLI read its unit. Results the flows
make themselves (the prompt A/B, a person's approval, ...) are `Gate`s declared in the
registry. `passed` and `worst` are the small rules that combine statuses.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal, TypeVar

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


#: How a gate's observed value and threshold read: three significant digits unless declared.
Unit = Literal["sig3", "ms", "months", "count"]
A = TypeVar("A")


@dataclass(frozen=True)
class Gate:
    """A gate check's identity: its name, the stage it runs at, the unit of its values."""

    name: str
    stage: Stage
    unit: Unit = "sig3"

    def result(
        self,
        status: GateStatus,
        detail: str,
        *,
        observed: Scalar = None,
        threshold: Scalar = None,
        **evidence: Any,
    ) -> GateResult:
        """This check's answer; keyword arguments beyond the named ones become its evidence."""
        return gate_result(
            self.name,
            self.stage,
            status,
            detail,
            observed=observed,
            threshold=threshold,
            **evidence,
        )


#: Every declared gate, by name.
GATES: dict[str, Gate] = {}


def declare(name: str, stage: Stage, unit: Unit = "sig3") -> Gate:
    """Declare a gate by its name (once: a name declared twice is a mistake)."""
    if name in GATES:
        raise ValueError(f"gate {name!r} is declared twice")
    GATES[name] = Gate(name, Stage(stage), unit)
    return GATES[name]


def gate(
    name: str, stage: Stage, unit: Unit = "sig3"
) -> Callable[[Callable[[Any, Gate], A]], Callable[[Any], A]]:
    """Declare a check: the decorated `check(inputs, this)` is called as `check(inputs)`."""
    this = declare(name, stage, unit)

    def bind(check: Callable[[Any, Gate], A]) -> Callable[[Any], A]:
        @wraps(check)
        def answer(inputs: Any) -> A:
            return check(inputs, this)

        answer.gate = this  # type: ignore[attr-defined]
        return answer

    return bind


def unit_of(check: str) -> Unit:
    """The unit of a declared check's values; three significant digits for any other."""
    declared = GATES.get(check)
    return declared.unit if declared else "sig3"


def passed(ok: bool) -> GateStatus:
    """Map a met condition to pass and an unmet one to fail."""
    return PASS if ok else FAIL


def worst(*statuses: GateStatus) -> GateStatus:
    """Return the most severe status: fail, then inconclusive, then pass."""
    return next(s for s in (FAIL, INCONCLUSIVE, PASS) if s in statuses)
