"""Score prepared requests on an eval set: one batch of calls, metric scores and aggregates."""

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from pydantic import BaseModel, Field

from state.db import store_session
from state.domain import EvalItem, EvalRun, ItemResult
from state.errors import AnswerFormatError, InputError
from state.evals import get_cached_responses, put_cached_responses
from state.settings import Price, ProviderOptions
from state.spec import AnswerExtraction, GenerationSettings, PromptKind
from state.spec import Metric as MetricName
from tasks.answers import extract
from tasks.llm import (
    CACHED_FIELDS,
    CallResult,
    ChatRequest,
    ResponseCache,
    build_client,
    complete_batch,
    run_sync,
)
from tasks.metrics import METRICS, Scored, judge_scores
from tasks.prompts import extract_answer
from tasks.stats import bootstrap_interval, quantile


class PreparedRequest(BaseModel):
    """One eval item's chat request, rendered and ready to send."""

    item_id: str
    model: str
    messages: list[dict[str, str]]
    prompt_kind: PromptKind = "zero_shot"
    max_tokens: int | None = None
    temperature: float = 0.0
    stop: list[str] = Field(default_factory=list)
    answers: AnswerExtraction | None = None


def output_fields(generation: object, answers: object) -> dict[str, Any]:
    """`PreparedRequest` fields from a spec's or a configuration's `generation` and `answers`."""
    settings = GenerationSettings.model_validate(generation or {})
    return {
        "max_tokens": settings.max_tokens,
        "temperature": settings.temperature or 0.0,
        "stop": settings.stop,
        "answers": AnswerExtraction.model_validate(answers) if answers is not None else None,
    }


class StoreResponseCache:
    """The response cache of the state store at `url`: one read and one write per batch."""

    def __init__(self, url: str) -> None:
        """Use the store at `url` (migrated on first use)."""
        self.url = url

    def get_many(self, keys: Sequence[str]) -> dict[str, CallResult]:
        """The cached results among `keys`."""
        with store_session(self.url) as session:
            found = get_cached_responses(keys, session=session)
        # An entry without every field (written by other code) is a miss, not a crash.
        return {
            key: CallResult.from_cache(value)
            for key, value in found.items()
            if set(CACHED_FIELDS) <= value.keys()
        }

    def put_many(self, results: Mapping[str, CallResult]) -> None:
        """Keep these results."""
        with store_session(self.url) as session:
            put_cached_responses({key: r.to_cache() for key, r in results.items()}, session=session)


class EvalTarget(BaseModel):
    """What an eval run measures: whose configuration, on which eval set, by which metric."""

    use_case: str
    configuration_id: int | None = None
    eval_set_hash: str
    metric: MetricName
    purpose: str = Field("eval", max_length=20)


def _answer(request: PreparedRequest, call: CallResult) -> Scored:
    """(answer, error): the call's error, or the answer its prompt kind asks for."""
    if call.error:
        return None, call.error
    try:
        answer = extract_answer(request.prompt_kind, call.text)
    except AnswerFormatError as exc:
        return None, f"answer format: {exc}"
    return (extract(request.answers, answer) if request.answers else answer), None


def summarise(
    target: EvalTarget,
    results: list[ItemResult],
    *,
    price: Price | None,
    samples: int = 2000,
    seed: int = 0,
    provider_calls: int = 0,
    retries: int = 0,
    extra: dict[str, Any] | None = None,
) -> EvalRun:
    """An eval run from per-item results: mean with its bootstrap interval, errors, latency, cost.

    A failed item scores 0. Tokens and cost are per query that got a response (one with
    token usage); latency percentiles include failed calls, which were slow or refused.
    """
    if not results:
        raise InputError(f"{target.use_case}: no eval items to aggregate")
    n = len(results)
    scores = [r.score if r.score is not None else 0.0 for r in results]
    answered = [r for r in results if r.prompt_tokens or r.completion_tokens]
    prompt_tokens = sum(r.prompt_tokens for r in answered) / max(len(answered), 1)
    completion_tokens = sum(r.completion_tokens for r in answered) / max(len(answered), 1)
    latencies = sorted(r.latency_ms for r in results)
    low, high = bootstrap_interval(scores, samples=samples, seed=seed)
    cost = None
    if price is not None:
        cost = (prompt_tokens * price.input_per_m + completion_tokens * price.output_per_m) / 1e6
    return EvalRun(
        **target.model_dump(),
        n=n,
        mean=math.fsum(scores) / n,
        ci_low=low,
        ci_high=high,
        error_rate=sum(r.error is not None for r in results) / n,
        latency_p50_ms=quantile(latencies, 0.5),
        latency_p95_ms=quantile(latencies, 0.95),
        prompt_tokens_per_query=prompt_tokens,
        completion_tokens_per_query=completion_tokens,
        cost_per_query=cost,
        provider_calls=provider_calls,
        retries=retries,
        extra=extra,
        results=results,
    )


async def _evaluate(
    requests: Sequence[PreparedRequest],
    items: Sequence[EvalItem],
    target: EvalTarget,
    provider: ProviderOptions,
    judge_model: str | None,
    cache: ResponseCache | None,
    on_done: Callable[[int], None] | None,
) -> tuple[list[ItemResult], dict[str, Any]]:
    """Per-item results and run counters of one batch (and its judge batch)."""
    batch = {
        "concurrency": provider.concurrency,
        "max_retries": provider.max_retries,
        "cache": cache,
        "on_done": on_done,
    }
    chat = [
        ChatRequest(r.model, r.messages, r.temperature, r.max_tokens, tuple(r.stop))
        for r in requests
    ]
    async with build_client(provider) as client:
        calls = await complete_batch(client, chat, **batch)
        answers = [_answer(r, c) for r, c in zip(requests, calls.results, strict=True)]
        batches = [calls]
        scorer = METRICS[target.metric].score
        if scorer is None:
            assert judge_model, "evaluate() checks that llm_judge has a judge model"
            scores, verdicts = await judge_scores(client, judge_model, items, answers, batch)
            batches.append(verdicts)
        else:
            scores = [
                (scorer(answer, item.expected), None) if answer is not None else (None, error)
                for item, (answer, error) in zip(items, answers, strict=True)
            ]
    # Built from typed values: validating thousands of results again would only cost time.
    results = [
        ItemResult.model_construct(
            item_id=item.id,
            score=score,
            output=call.text,
            latency_ms=call.latency_ms,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            error=error,
        )
        for item, call, (score, error) in zip(items, calls.results, scores, strict=True)
    ]
    counters = {
        "provider_calls": sum(b.provider_calls for b in batches),
        "retries": sum(b.retries for b in batches),
        "extra": {
            "provider_errors": sum(bool(c.error) for b in batches for c in b.results),
            "cached": sum(c.cached for c in calls.results),
            "judge_model": judge_model if scorer is None else None,
        },
    }
    return results, counters


def evaluate(
    requests: Sequence[PreparedRequest],
    items: Sequence[EvalItem],
    target: EvalTarget,
    provider: ProviderOptions,
    *,
    store_url: str | None = None,
    use_cache: bool = True,
    judge_model: str | None = None,
    price: Price | None = None,
    samples: int = 2000,
    seed: int = 0,
    on_done: Callable[[int], None] | None = None,
) -> EvalRun:
    """Score prepared requests on their items, through the response cache of `store_url`.

    `on_done(i)` is called as each request of the batch (then of the judge batch) finishes.
    """
    by_id = {item.id: item for item in items}
    missing = [r.item_id for r in requests if r.item_id not in by_id]
    if missing:
        raise InputError(f"requests name unknown eval items: {', '.join(missing[:5])}")
    if target.metric == "llm_judge" and not judge_model:
        raise InputError("metric llm_judge needs a judge model")
    ordered = [by_id[r.item_id] for r in requests]
    cache = StoreResponseCache(store_url) if store_url and use_cache else None
    results, counters = run_sync(
        lambda: _evaluate(requests, ordered, target, provider, judge_model, cache, on_done)
    )
    return summarise(target, results, price=price, samples=samples, seed=seed, **counters)


@task(name="score-requests", cache_policy=NO_CACHE)
def score_requests(
    requests: list[PreparedRequest],
    items: list[EvalItem],
    target: EvalTarget,
    provider: ProviderOptions,
    store_url: str | None = None,
    use_cache: bool = True,
    judge_model: str | None = None,
    price: Price | None = None,
    bootstrap_samples: int = 2000,
    seed: int = 0,
) -> EvalRun:
    """Score a batch of prepared requests on an eval set and aggregate the run."""
    # No task retries: every call is already retried; Prefect's own result cache is off
    # because the response cache and `find_eval_run` already skip repeated work.
    logger = get_run_logger()
    total = len(requests) * (2 if target.metric == "llm_judge" else 1)
    step, finished = max(total // 4, 1), itertools.count(1)

    def progress(_: int) -> None:
        """Log at every quarter of the calls."""
        count = next(finished)
        if count % step == 0:
            logger.info("%s: %d of %d calls finished", target.use_case, count, total)

    run = evaluate(
        requests,
        items,
        target,
        provider,
        store_url=store_url,
        use_cache=use_cache,
        judge_model=judge_model,
        price=price,
        samples=bootstrap_samples,
        seed=seed,
        on_done=progress,
    )
    logger.info(
        "%s: mean %.3f [%.3f, %.3f] on %d items, %d provider calls",
        target.use_case,
        run.mean,
        run.ci_low,
        run.ci_high,
        run.n,
        run.provider_calls,
    )
    return run
