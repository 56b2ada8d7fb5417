"""Time the active configuration and a candidate together, so their latencies are comparable."""

from flows.context import UseCaseContext
from flows.scoring import prepare_requests, prepare_routed
from state.domain import Configuration, EvalItem, LatencyPairs
from tasks import progress
from tasks.evaluation import PreparedRequest
from tasks.latency_probe import time_latency_pairs
from tasks.prompts import Passage


def _prepared(
    ctx: UseCaseContext,
    config: Configuration,
    items: list[EvalItem],
    passages: list[list[Passage]] | None,
) -> list[PreparedRequest]:
    if config.routing:
        return prepare_routed(ctx, config, items)
    return prepare_requests(ctx, config, items, passages=passages)


def time_side_by_side(
    ctx: UseCaseContext,
    baseline: Configuration,
    subject: Configuration,
    subject_passages: list[list[Passage]] | None = None,
) -> LatencyPairs:
    """Both configurations' waits on the eval items, their calls interleaved in one batch.

    `subject_passages`: the passages the subject was scored with (RAG), not retrieved again.
    """
    items, _ = ctx.eval_set
    requests = [
        _prepared(ctx, baseline, items, None),
        _prepared(ctx, subject, items, subject_passages),
    ]
    labels = (ctx.label(baseline), ctx.label(subject))
    if labels[0] == labels[1]:
        labels = (f"{labels[0]} (active)", f"{labels[1]} (candidate)")
    progress.stage(
        f"timing {labels[0]} and {labels[1]} interleaved on {len(items)} items "
        "(the same load for both)"
    )
    return time_latency_pairs(ctx.name, *requests, ctx.provider, labels=labels)
