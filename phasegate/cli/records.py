"""The store's records as the `--json` documents show them, and how each is made.

Shared by the documents of `phasegate/cli/outputs.py`; a record keeps its shape wherever it
appears (a decision in `history` is the decision in `check`).
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from state import domain
from state.domain import PromptVersion as PromptVersionRecord
from state.phases import DecisionKind, Phase

Scalar = float | int | str | bool | None


class Record(BaseModel):
    """A shape of the CLI's JSON: no field beyond those declared."""

    model_config = ConfigDict(extra="forbid")


class Gate(domain.GateResult, Record):
    """One check of a gate: its verdict, what was observed, against what."""


class Decision(Record):
    """A recorded decision, with its gate results."""

    id: int
    use_case: str
    kind: DecisionKind
    from_phase: Phase
    to_phase: Phase
    decided_by: str
    reason: str
    created_at: datetime
    configuration_id: int | None = Field(description="the active configuration afterwards")
    candidate_configuration_id: int | None
    flow_run_id: str | None
    eval_run_ids: list[int]
    gates: list[Gate]


class Configuration(domain.ConfigurationDraft, Record):
    """What an application calls in a phase."""

    id: int


class MetricFigure(Record):
    """One guardrail metric of an eval run: its mean and 95 % interval (None: no values)."""

    name: str
    metric: str
    role: str
    direction: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None


class PromptVersion(Record):
    """One version of the prompt library."""

    id: int
    label: str = Field(description="`name@vN`, as the commands take it")
    name: str
    version: int
    kind: str
    content_hash: str
    created_at: datetime


class Lease(domain.LeaseInfo, Record):
    """A check lease held now."""


class LeaseBreak(domain.LeaseBreak, Record):
    """A lease broken by a person (`phasegate lease break`)."""


def gate(result: domain.GateResult) -> Gate:
    """A gate result of the store as printed."""
    return Gate.model_validate(result.model_dump())


def decision(recorded: domain.Decision) -> Decision:
    """A decision of the store as printed."""
    fields = set(Decision.model_fields) - {"gates"}
    return Decision(
        **recorded.model_dump(include=fields),
        gates=[gate(result) for result in recorded.gate_results],
    )


def decisions(recorded: list[domain.Decision]) -> list[Decision]:
    """Decisions of the store as printed."""
    return [decision(d) for d in recorded]


def configuration(config: domain.Configuration | None) -> Configuration | None:
    """A configuration of the store as printed."""
    if config is None:
        return None
    return Configuration.model_validate(config.model_dump(include=set(Configuration.model_fields)))


def prompt_version(version: PromptVersionRecord) -> PromptVersion:
    """A prompt version of the library as printed."""
    return PromptVersion(
        **version.model_dump(include={"id", "name", "version", "content_hash", "created_at"}),
        label=version.label,
        kind=version.variant.kind,
    )
