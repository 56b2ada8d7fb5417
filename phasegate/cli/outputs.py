"""The JSON documents the commands print with `--json`: one model per command.

Each is the whole of stdout (one document, never wrapped, nothing else on stdout); errors go
to stderr. Their JSON Schemas are generated into `docs/cli-json/` by `make schemas`.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from phasegate.cli.records import (
    Configuration,
    Decision,
    Gate,
    Lease,
    LeaseBreak,
    MetricFigure,
    PromptVersion,
    Record,
)
from state import domain
from state.phases import DecisionKind, MonitorStatus, Phase
from state.spec import PromptVariant

Configured = domain.Configuration | None
Decided = domain.Decision | None


class UseCaseStatus(Record):
    """One row of `phasegate status`."""

    name: str
    phase: Phase
    active_configuration: Configuration | None
    last_decision: DecisionKind | None
    last_decision_at: datetime | None
    volume_30d: int = Field(description="queries served in the last 30 days")
    pending_approval: Phase | None = Field(description="the phase a pending approval moves to")
    retiring: str | None = Field(
        None, description='the active model\'s noted shutdown: "MODEL on YYYY-MM-DD"'
    )


class StatusOutput(Record):
    """`phasegate status --json`."""

    use_cases: list[UseCaseStatus]


class HistoryOutput(Record):
    """`phasegate history USE_CASE --json`: oldest decision first."""

    use_case: str
    decisions: list[Decision]


class CheckOutput(Record):
    """`phasegate check USE_CASE --json`: the decision the check recorded."""

    use_case: str
    decision: DecisionKind
    reason: str
    recorded: Decision | None = Field(description="the decision as stored, with its gates")
    failed_on: bool = Field(description="the decision is one of --fail-on (exit 4)")


class EvalOutput(domain.EvalFigures, Record):
    """`phasegate eval USE_CASE --json`: the recorded eval run's figures."""

    eval_run_id: int
    use_case: str
    prompt: str
    model: str
    transport: Literal["online", "batch"] = Field(
        "online", description="how the answers came: online calls or the Batch API"
    )
    batch_ids: list[str] = Field(
        default_factory=list, description="the provider's batches, with --batch"
    )
    errors: list[str] = Field(description="distinct error messages of failed items")
    guardrails: list[MetricFigure]
    fail_under: float | None = Field(description="the --fail-under threshold, if given")
    compared: Literal["mean", "ci_low"] = Field(description="the figure --fail-under reads")
    failed_under: bool = Field(description="the compared figure is below --fail-under (exit 4)")


class PromptListOutput(Record):
    """`phasegate prompts list USE_CASE --json`."""

    use_case: str
    versions: list[PromptVersion]


class PromptShowOutput(PromptVersion):
    """`phasegate prompts show USE_CASE VERSION --json`: the version with its content."""

    use_case: str
    variant: PromptVariant


class UsageRecordOutput(Record):
    """`phasegate usage record ... --json`."""

    use_case: str
    day: date
    count: int
    source: str
    volume_30d: int


class UsageImportOutput(Record):
    """`phasegate usage import FILE --json`."""

    path: str
    imported: int


class HybridOutput(Record):
    """`phasegate hybrid USE_CASE --json`: the decision on the hybrid."""

    use_case: str
    decision: DecisionKind
    reason: str
    decision_id: int | None
    configuration_id: int | None


class MonitorResult(Record):
    """What monitoring found for one use case and what it did."""

    use_case: str
    status: MonitorStatus
    reason: str
    configuration_id: int | None = Field(description="the active configuration afterwards")
    decision_id: int | None
    event_id: str | None
    gates: list[Gate]


class MonitorOutput(Record):
    """`phasegate monitor [USE_CASE] --json`."""

    results: list[MonitorResult]


class LeaseListOutput(Record):
    """`phasegate lease list --json`: leases held now, then the latest breaks, newest first."""

    held: list[Lease]
    broken: list[LeaseBreak]


class RolloutArm(Record):
    """One configuration a rollout serves; `control` is the active one."""

    name: str
    configuration_id: int
    weight: float = Field(description="per cent of routing keys it is served at this step")
    dropped: bool = Field(False, description="an A/B arm no longer served (worse)")


class RolloutRecord(Record):
    """A rollout as stored: its step, the canary's share and its status."""

    id: int
    use_case: str
    kind: Literal["canary", "ab"] = Field(description="a canary, or an online A/B of variants")
    to_phase: Phase
    status: Literal["running", "paused", "promoted", "aborted"]
    step: int = Field(description="0 for the first step; len(steps) is 100 %")
    weight: float = Field(description="per cent of routing keys served the canary")
    steps: list[dict] = Field(description="the spec's steps when the rollout started")
    arms: list[RolloutArm]
    reason: str
    started_by: str
    created_at: datetime
    step_started_at: datetime
    ended_at: datetime | None


class RolloutOutput(Record):
    """`phasegate rollout status|promote|abort --json`: the rollout, its checks, its decision."""

    use_case: str
    rollout: RolloutRecord | None = Field(
        description="the live rollout, else the latest; null: none"
    )
    checks: list[Gate] = Field(description="the live checks of the current step (status only)")
    decision: Decision | None = Field(description="the decision the command recorded, if any")
    outcome: str | None = Field(
        None, description="`rollout analyse`: the roll-out run's state (`Canary 10 %`, …)"
    )


# The command each document answers, as named in docs/cli-json/<name>.schema.json.
class ServerOutput(BaseModel):
    """`phasegate server start|stop|status --json`: the background Prefect server, if any."""

    running: bool
    api_url: str | None = None
    ui_url: str | None = None
    pid: int | None = None
    started_by: str | None = Field(None, description="`phasegate server` or `phasegate serve`")
    started_at: datetime | None = None
    log: str | None = None
    warm_runner_pid: int | None = Field(
        None, description="the warm runner that runs flow commands, if one runs"
    )

    @classmethod
    def of(cls, record: object, runner: dict | None = None) -> "ServerOutput":
        """The document of a `ServerRecord` (None: no server runs) and of the warm runner's."""
        warm = {"warm_runner_pid": runner["pid"]} if runner else {}
        if record is None:
            return cls(running=False, **warm)
        fields = ("api_url", "ui_url", "pid", "started_by", "started_at", "log")
        return cls(running=True, **{name: getattr(record, name) for name in fields}, **warm)


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
    "rollout": RolloutOutput,
    "server": ServerOutput,
}


def status(rows: "Sequence[domain.StatusRow]") -> StatusOutput:
    """The status document of the rows `phasegate status` shows."""
    return StatusOutput(
        use_cases=[
            UseCaseStatus(
                name=row.name,
                phase=row.phase,
                active_configuration=row.configuration,
                last_decision=row.last_decision,
                last_decision_at=row.last_decision_at,
                volume_30d=row.volume_30d,
                pending_approval=row.pending_to_phase,
                retiring=row.retiring,
            )
            for row in rows
        ]
    )
