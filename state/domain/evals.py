"""Eval sets, eval runs with their per-item results, and a use case's report."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field

from state.domain.decisions import Decision
from state.domain.frozen import Frozen
from state.domain.use_cases import Configuration, UseCase


class EvalItem(Frozen):
    """One example of an eval set."""

    id: str
    input: str
    expected: str
    source: str | None = Field(None, description="document the answer comes from, for Q&A")


class ItemResult(Frozen):
    """The outcome of one eval item in one eval run."""

    item_id: str
    score: float | None = Field(None, description="None when the call or the parse failed")
    output: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


class EvalFigures(Frozen):
    """What scoring measured: the metric's mean and 95 % interval, errors, latency, tokens, cost."""

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
    cost_per_query: float | None = None
    provider_calls: int = 0
    retries: int = 0


class EvalRun(EvalFigures):
    """A configuration scored on an eval set: its figures and per-item results."""

    id: int | None = None
    use_case: str
    configuration_id: int | None
    purpose: str = "eval"
    eval_set_hash: str
    extra: dict[str, Any] | None = None
    invalid_reason: str | None = Field(
        None, description="why the run is no measurement (too many failed calls); None: valid"
    )
    flow_run_id: str | None = None
    created_at: datetime | None = None
    results: list[ItemResult] = Field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Whether the run is a measurement that gates, baselines and monitoring may read."""
        return self.invalid_reason is None

    def scores(self) -> dict[str, float]:
        """Scores by item id of the items that have one: a failed call is missing, not 0."""
        return {r.item_id: r.score for r in self.results if r.score is not None}


class LatencyPairs(Frozen):
    """Two configurations' latencies on the same items, their calls interleaved in one run."""

    item_ids: list[str]
    baseline_ms: list[float] = Field(description="the baseline's whole wait per item")
    subject_ms: list[float] = Field(description="the subject's whole wait per item")
    concurrency: int = Field(1, ge=1)
    errors: int = Field(0, ge=0, description="calls that failed (their wait still counts)")
    interleaved: bool = Field(True, description="False: paired from two separate eval runs")


@dataclass(frozen=True)
class ReportRead:
    """A use case, its decisions, every eval run and the configurations they scored."""

    use_case: UseCase
    decisions: list[Decision]
    eval_runs: list[EvalRun]
    configurations: dict[int, Configuration]
