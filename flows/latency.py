"""Time the active configuration and a candidate together, so their latencies are comparable."""

from flows.context import UseCaseContext
from flows.scoring import prepare_requests, prepare_routed
from state.domain import Configuration, LatencyPairs
from tasks import progress
from tasks.latency_probe import time_latency_pairs


def time_side_by_side(
    ctx: UseCaseContext, baseline: Configuration, subject: Configuration
) -> LatencyPairs:
    """Both configurations' waits on the eval items, their calls interleaved in one batch."""
    items, _ = ctx.eval_set
    requests = [
        (prepare_routed if config.routing else prepare_requests)(ctx, config, items)
        for config in (baseline, subject)
    ]
    labels = (ctx.label(baseline), ctx.label(subject))
    if labels[0] == labels[1]:
        labels = (f"{labels[0]} (active)", f"{labels[1]} (candidate)")
    progress.stage(
        f"timing {labels[0]} and {labels[1]} interleaved on {len(items)} items "
        "(the same load for both)"
    )
    return time_latency_pairs(ctx.name, *requests, ctx.provider, labels=labels)
