"""The JSON documents the commands print with `--json`: one model per command.

Each is the whole of stdout (one document, never wrapped, nothing else on stdout); errors go
to stderr. Their JSON Schemas are generated into `docs/cli-json/` by `make schemas`.
"""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from state import domain
from state.approvals import Approval
from state.phases import DecisionKind, GateStatus, Phase
from state.prompt_library import PromptVersion as PromptVersionRecord
from state.spec import PromptVariant

Scalar = float | int | str | bool | None
Configured = domain.Configuration | None
Decided = domain.Decision | None


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Gate(_Output):
    """One check of a gate: its verdict, what was observed, against what."""

    stage: str
    check: str
    status: GateStatus
    observed: Scalar = None
    threshold: Scalar = None
    detail: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)


class Decision(_Output):
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


class Configuration(_Output):
    """What an application calls in a phase."""

    id: int
    phase: Phase
    model: str
    prompt_version_id: int | None
    model_version_id: int | None
    retrieval: dict[str, Any] | None
    routing: dict[str, Any] | None


class UseCaseStatus(_Output):
    """One row of `phasegate status`."""

    name: str
    phase: Phase
    active_configuration: Configuration | None
    last_decision: DecisionKind | None
    last_decision_at: datetime | None
    volume_30d: int = Field(description="queries served in the last 30 days")
    pending_approval: Phase | None = Field(description="the phase a pending approval moves to")


class StatusOutput(_Output):
    """`phasegate status --json`."""

    use_cases: list[UseCaseStatus]


class HistoryOutput(_Output):
    """`phasegate history USE_CASE --json`: oldest decision first."""

    use_case: str
    decisions: list[Decision]


class CheckOutput(_Output):
    """`phasegate check USE_CASE --json`: the decision the check recorded."""

    use_case: str
    decision: DecisionKind
    reason: str
    recorded: Decision | None = Field(description="the decision as stored, with its gates")
    failed_on: bool = Field(description="the decision is one of --fail-on (exit 4)")


class MetricFigure(_Output):
    """One guardrail metric of an eval run: its mean and 95 % interval (None: no values)."""

    name: str
    metric: str
    role: str
    direction: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None


class EvalOutput(_Output):
    """`phasegate eval USE_CASE --json`: the recorded eval run's figures."""

    eval_run_id: int
    use_case: str
    prompt: str
    model: str
    metric: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    error_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    prompt_tokens_per_query: float
    completion_tokens_per_query: float
    cost_per_query: float | None
    provider_calls: int
    retries: int
    errors: list[str] = Field(description="distinct error messages of failed items")
    guardrails: list[MetricFigure]
    fail_under: float | None = Field(description="the --fail-under threshold, if given")
    compared: Literal["mean", "ci_low"] = Field(description="the figure --fail-under reads")
    failed_under: bool = Field(description="the compared figure is below --fail-under (exit 4)")


class PromptVersion(_Output):
    """One version of the prompt library."""

    id: int
    label: str = Field(description="`name@vN`, as the commands take it")
    name: str
    version: int
    kind: str
    content_hash: str
    created_at: datetime


class PromptListOutput(_Output):
    """`phasegate prompts list USE_CASE --json`."""

    use_case: str
    versions: list[PromptVersion]


class PromptShowOutput(PromptVersion):
    """`phasegate prompts show USE_CASE VERSION --json`: the version with its content."""

    use_case: str
    variant: PromptVariant


class UsageRecordOutput(_Output):
    """`phasegate usage record ... --json`."""

    use_case: str
    day: date
    count: int
    source: str
    volume_30d: int


class UsageImportOutput(_Output):
    """`phasegate usage import FILE --json`."""

    path: str
    imported: int


class HybridOutput(_Output):
    """`phasegate hybrid USE_CASE --json`: the decision on the hybrid."""

    use_case: str
    decision: DecisionKind
    reason: str
    decision_id: int | None
    configuration_id: int | None


class MonitorResult(_Output):
    """What monitoring found for one use case and what it did."""

    use_case: str
    status: str
    reason: str
    configuration_id: int | None = Field(description="the active configuration afterwards")
    decision_id: int | None
    event_id: str | None
    gates: list[Gate]


class MonitorOutput(_Output):
    """`phasegate monitor [USE_CASE] --json`."""

    results: list[MonitorResult]


class Lease(_Output):
    """A check lease held now."""

    use_case: str
    flow_run_id: str
    host: str
    pid: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime = Field(description="stale after this: the next check takes it over")


class LeaseBreak(_Output):
    """A lease broken by a person (`phasegate lease break`)."""

    use_case: str
    flow_run_id: str
    host: str
    broken_by: str
    reason: str
    broken_at: datetime


class LeaseListOutput(_Output):
    """`phasegate lease list --json`: leases held now, then the latest breaks, newest first."""

    held: list[Lease]
    broken: list[LeaseBreak]


# The command each document answers, as named in docs/cli-json/<name>.schema.json.
DOCUMENTS: dict[str, type[BaseModel]] = {
    "status": StatusOutput,
    "history": HistoryOutput,
    "check": CheckOutput,
    "eval": EvalOutput,
    "prompts-list": PromptListOutput,
    "prompts-show": PromptShowOutput,
    "usage-record": UsageRecordOutput,
    "usage-import": UsageImportOutput,
    "hybrid": HybridOutput,
    "monitor": MonitorOutput,
    "lease-list": LeaseListOutput,
    "lease-break": LeaseBreak,
}


def gate(result: domain.GateResult) -> Gate:
    """A gate result of the store as printed."""
    return Gate.model_validate(result.model_dump(include=set(Gate.model_fields)))


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


def status(
    rows: list[
        tuple[
            domain.UseCase,
            domain.Configuration | None,
            domain.Decision | None,
            int,
            Approval | None,
        ]
    ],
) -> StatusOutput:
    """The status document of the rows `phasegate status` shows."""
    return StatusOutput(
        use_cases=[
            UseCaseStatus(
                name=use_case.name,
                phase=use_case.active_phase,
                active_configuration=configuration(config),
                last_decision=last.kind if last else None,
                last_decision_at=last.created_at if last else None,
                volume_30d=volume,
                pending_approval=pending.to_phase if pending else None,
            )
            for use_case, config, last, volume, pending in rows
        ]
    )


def prompt_version(version: PromptVersionRecord) -> PromptVersion:
    """A prompt version of the library as printed."""
    return PromptVersion(
        **version.model_dump(include={"id", "name", "version", "content_hash", "created_at"}),
        label=version.label,
        kind=version.variant.kind,
    )
