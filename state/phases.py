"""Phases, decision kinds, gate stages and statuses: the ordered vocabulary of the method."""

from enum import StrEnum


class Phase(StrEnum):
    """A phase of optimisation; the declaration order is the order of the method."""

    PROMPTING = "prompting"
    RAG = "rag"
    FINE_TUNING = "fine_tuning"

    @property
    def index(self) -> int:
        """Position of the phase in the method."""
        return list(Phase).index(self)

    @property
    def next(self) -> "Phase | None":
        """The phase a gate can move to from here, or None at the end."""
        order = list(Phase)
        return order[self.index + 1] if self.index + 1 < len(order) else None

    @property
    def transition(self) -> str | None:
        """Name of the gate that guards the move to the next phase (`prompting_to_rag`)."""
        nxt = self.next
        return f"{self.value}_to_{nxt.value}" if nxt else None


class DecisionKind(StrEnum):
    """The recorded outcome of a phase check or of monitoring."""

    BASELINED = "baselined"
    ADVANCED = "advanced"
    HELD = "held"
    SKIPPED = "skipped"
    ROLLED_BACK = "rolled_back"
    REJECTED = "rejected"
    EXPIRED = "expired"
    ROLLING_OUT = "rolling_out"


class GateStatus(StrEnum):
    """The answer of one gate check."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class MonitorStatus(StrEnum):
    """What monitoring found for one use case (its two actions are decision kinds too)."""

    HEALTHY = "healthy"
    REGRESSED = "regressed"
    ROLLED_BACK = DecisionKind.ROLLED_BACK.value
    SKIPPED = DecisionKind.SKIPPED.value
    UNMONITORED = "unmonitored"
    FAILED = "failed"


class Stage(StrEnum):
    """When a gate check runs: before a build, on a built candidate, for a person, or later."""

    ENTRY = "entry"
    PROMOTION = "promotion"
    APPROVAL = "approval"
    MONITOR = "monitor"
    ROLLOUT = "rollout"
