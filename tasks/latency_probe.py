"""Time two configurations' calls interleaved on the same items, so both see the same load.

An eval run of the active configuration is reused while the configuration and the eval set
are unchanged, and responses come from the response cache with the latency of their first
fetch: the active's waits can be days older than the candidate's, measured on another load.
This probe asks both again, uncached, in one batch at the provider's concurrency, in the
order A B B A A B … (each item's pair alternates which goes first, so a load that rises or
falls during the batch weighs on both alike). Only the waits are kept; quality is scored on
the eval runs, which stay cached.
"""

from collections.abc import Callable, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from state.domain import LatencyPairs
from state.settings import ProviderOptions
from tasks import progress
from tasks.evaluation import PreparedRequest
from tasks.llm import CallResult, ChatRequest, build_client, complete_batch, run_sync


def _chat(request: PreparedRequest) -> ChatRequest:
    """The chat request of a prepared eval request."""
    r = request
    return ChatRequest(r.model, r.messages, r.temperature, r.max_tokens, tuple(r.stop))


def interleave(
    baseline: Sequence[PreparedRequest], subject: Sequence[PreparedRequest]
) -> tuple[list[str], list[ChatRequest], list[tuple[int, int]]]:
    """Item ids both have, the calls in A B B A order, and each item's (baseline, subject) slot."""
    theirs = {r.item_id: r for r in subject}
    ids, calls, slots = [], [], []
    for index, mine in enumerate(r for r in baseline if r.item_id in theirs):
        pair = [_chat(mine), _chat(theirs[mine.item_id])]
        first = len(calls)
        calls += pair if index % 2 == 0 else pair[::-1]
        ids.append(mine.item_id)
        slots.append((first, first + 1) if index % 2 == 0 else (first + 1, first))
    return ids, calls, slots


def time_pairs(
    baseline: Sequence[PreparedRequest],
    subject: Sequence[PreparedRequest],
    provider: ProviderOptions,
    on_done: Callable[[int], None] | None = None,
    labels: tuple[str, str] = ("active", "candidate"),
) -> LatencyPairs:
    """Both configurations' waits on their shared items, measured in one interleaved batch.

    An item whose call was never sent (the batch stopped on a fatal error) is left out; a call
    that failed after being sent keeps its whole wait, as in an eval run. Progress is followed
    per configuration, as `labels` name them.
    """
    ids, calls, slots = interleave(baseline, subject)
    subject_slots = {b for _, b in slots}

    def tick(index: int, call: CallResult) -> None:
        """Count the call for its configuration."""
        progress.tick(error=call.error is not None, label=labels[index in subject_slots])

    async def batch():
        async with build_client(provider) as client:
            return await complete_batch(
                client,
                calls,
                concurrency=provider.concurrency,
                max_retries=provider.max_retries,
                on_done=on_done,
                on_result=tick,
            )

    with progress.batch(labels[0], len(ids)), progress.batch(labels[1], len(ids)):
        results = run_sync(batch).results if calls else []
    kept = [
        (item, results[a], results[b])
        for item, (a, b) in zip(ids, slots, strict=True)
        if results[a].sent and results[b].sent
    ]
    return LatencyPairs(
        item_ids=[item for item, _, _ in kept],
        baseline_ms=[a.latency_ms for _, a, _ in kept],
        subject_ms=[b.latency_ms for _, _, b in kept],
        concurrency=provider.concurrency,
        errors=sum(bool(a.error) + bool(b.error) for _, a, b in kept),
    )


@task(name="time-latency-pairs", cache_policy=NO_CACHE)
def time_latency_pairs(
    use_case: str,
    baseline: list[PreparedRequest],
    subject: list[PreparedRequest],
    provider: ProviderOptions,
    labels: tuple[str, str] = ("active", "candidate"),
) -> LatencyPairs:
    """Time the baseline's and the subject's calls interleaved on the same items."""
    logger = get_run_logger()
    pairs = time_pairs(baseline, subject, provider, labels=labels)
    logger.info(
        "%s: %d items timed interleaved at concurrency %d, %d failed calls",
        use_case,
        len(pairs.item_ids),
        pairs.concurrency,
        pairs.errors,
    )
    return pairs
