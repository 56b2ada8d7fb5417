"""Guardrail metrics: per-item values computed from what an eval run already holds.

Each metric is a small pure function of one item's result (its output, latency and tokens)
and the guardrail's parameters, registered by name with the direction in which it is better.
An item that failed (an error, no output) has no value: it is missing, never a 0.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from jsonschema import ValidationError as SchemaViolation
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict

from state.domain import EvalRun, ItemResult
from state.settings import Price
from state.spec_metrics import Direction, Guardrail
from tasks.stats import bootstrap_interval, mean

FENCE = re.compile(r"^```[a-zA-Z]*\n(.*)\n```$", re.S)
REFUSALS = (
    "i can't",
    "i cannot",
    "i can not",
    "i'm sorry",
    "i am sorry",
    "i don't have enough information",
    "i'm unable",
    "i am unable",
    "as an ai",
)


@dataclass(frozen=True)
class Context:
    """What a value may read beyond the item: the run's model price and judge scores."""

    price: Price | None = None
    judged: Mapping[str, float] = field(default_factory=dict)


Value = Callable[[ItemResult, Guardrail, Context], float | None]


@dataclass(frozen=True)
class GuardrailMetric:
    """A registered guardrail metric: its per-item value and the direction that is better."""

    name: str
    direction: Direction
    value: Value


GUARDRAIL_METRICS: dict[str, GuardrailMetric] = {}


def _metric(name: str, direction: Direction) -> Callable[[Value], Value]:
    """Register a per-item value as guardrail metric `name`."""

    def register(function: Value) -> Value:
        """Add the value to GUARDRAIL_METRICS."""
        GUARDRAIL_METRICS[name] = GuardrailMetric(name, direction, function)
        return function

    return register


def parse_json(output: str) -> object:
    """The output as JSON, a surrounding Markdown code fence allowed; raises ValueError."""
    text = output.strip()
    fenced = FENCE.match(text)
    return json.loads(fenced[1] if fenced else text)


def _answered(item: ItemResult) -> bool:
    """Whether the item has an output to measure (a failed call has none)."""
    return item.error is None or bool(item.output)


@_metric("json_valid", "higher")
def json_valid(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """1 when the output parses as JSON, else 0."""
    if not _answered(item):
        return None
    try:
        parse_json(item.output)
    except ValueError:
        return 0.0
    return 1.0


@_metric("json_schema", "higher")
def json_schema(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """1 when the output parses as JSON and validates against the guardrail's schema, else 0."""
    if not _answered(item):
        return None
    try:
        document = parse_json(item.output)
    except ValueError:
        return 0.0
    schema = guardrail.json_schema or {}
    try:
        validator_for(schema)(schema).validate(document)
    except SchemaViolation:
        return 0.0
    return 1.0


@_metric("regex_match", "higher")
def regex_match(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """1 when the guardrail's pattern is found in the output, else 0."""
    if not _answered(item):
        return None
    return float(re.search(guardrail.pattern or "", item.output) is not None)


@_metric("max_length", "higher")
def max_length(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """1 when the output has at most `max_chars` characters, else 0."""
    if not _answered(item):
        return None
    return float(len(item.output.strip()) <= (guardrail.max_chars or 0))


@_metric("output_tokens", "lower")
def output_tokens(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """The completion tokens of the answer."""
    return float(item.completion_tokens) if _answered(item) else None


@_metric("refusal", "lower")
def refusal(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """1 when the output contains a refusal phrase (the guardrail's, or common ones), else 0."""
    if not _answered(item):
        return None
    text = item.output.lower()
    return float(any(phrase.lower() in text for phrase in guardrail.phrases or REFUSALS))


@_metric("llm_judge", "higher")
def llm_judge(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """The judge model's grade of the output (0–1), when the run was judged."""
    return context.judged.get(item.item_id)


@_metric("latency_ms", "lower")
def latency_ms(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """The whole wait for the answer, in milliseconds."""
    return item.latency_ms if _answered(item) else None


@_metric("cost_per_query", "lower")
def cost_per_query(item: ItemResult, guardrail: Guardrail, context: Context) -> float | None:
    """US dollars of the call at the model's price; unknown without a price."""
    if context.price is None or not _answered(item):
        return None
    price = context.price
    spent = item.prompt_tokens * price.input_per_m + item.completion_tokens * price.output_per_m
    return spent / 1e6


def direction_of(guardrail: Guardrail) -> Direction:
    """The guardrail's direction: its own, or its metric's."""
    return guardrail.direction or GUARDRAIL_METRICS[guardrail.metric].direction


def judged(run: EvalRun) -> dict[str, float]:
    """The per-item judge grades stored with a run (its scores when the primary is the judge)."""
    if run.metric == "llm_judge":
        return {r.item_id: r.score for r in run.results if r.score is not None}
    return dict((run.extra or {}).get("judge_scores") or {})


def values(run: EvalRun, guardrail: Guardrail, price: Price | None = None) -> dict[str, float]:
    """The guardrail metric's value per item of a run; items without a value are left out."""
    value = GUARDRAIL_METRICS[guardrail.metric].value
    context = Context(price=price, judged=judged(run))
    found = ((r.item_id, value(r, guardrail, context)) for r in run.results)
    return {item: v for item, v in found if v is not None}


class MetricSummary(BaseModel):
    """One metric of a run: its mean over the items that have a value, with a 95 % interval."""

    model_config = ConfigDict(frozen=True)

    name: str
    metric: str
    role: str
    direction: Direction
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None


def summarise_metrics(
    run: EvalRun,
    guardrails: list[Guardrail],
    price: Price | None = None,
    *,
    samples: int = 2000,
    seed: int = 0,
) -> list[MetricSummary]:
    """The run's primary metric and every guardrail metric, each with its interval."""
    primary = MetricSummary(
        name=run.metric,
        metric=run.metric,
        role="primary",
        direction="higher",
        n=run.n,
        mean=run.mean,
        ci_low=run.ci_low,
        ci_high=run.ci_high,
    )
    summaries = [primary]
    for guardrail in guardrails:
        found = list(values(run, guardrail, price).values())
        low, high = bootstrap_interval(found, samples=samples, seed=seed) if found else (None, None)
        summaries.append(
            MetricSummary(
                name=guardrail.gate,
                metric=guardrail.metric,
                role="guardrail",
                direction=direction_of(guardrail),
                n=len(found),
                mean=mean(found) if found else None,
                ci_low=low,
                ci_high=high,
            )
        )
    return summaries
