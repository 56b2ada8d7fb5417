"""Score prepared requests on an eval set: one batch of calls, metric scores and aggregates.

Plain on purpose: `phasegate eval` scores through `evaluate` without importing Prefect; a
flow scores through the `score-requests` task (tasks/scoring_tasks.py), a thin wrapper.
"""

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from state.domain import EvalItem, EvalRun, ItemResult
from state.errors import AnswerFormatError, InputError, MeasurementInvalid
from state.settings import Price, ProviderOptions
from state.spec import MAX_ERROR_RATE, AnswerExtraction, GenerationSettings, PromptKind
from state.spec import Metric as MetricName
from tasks import progress
from tasks.answers import extract
from tasks.batch_suspension import current_suspension
from tasks.llm import (
    BatchResult,
    CallResult,
    ChatRequest,
    ResponseCache,
    build_client,
    complete_batch,
    run_sync,
)
from tasks.llm_batch import BatchOptions, complete_in_batches
from tasks.metrics import METRICS, Scored, judge_scores
from tasks.prompts import extract_answer
from tasks.provider_events import ended_by_webhook
from tasks.provider_signal import Ended
from tasks.response_cache import StoreResponseCache
from tasks.stats import bootstrap_interval, mean, quantile


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


class EvalTarget(BaseModel):
    """What an eval run measures: whose configuration, on which eval set, by which metric."""

    use_case: str
    configuration_id: int | None = None
    eval_set_hash: str
    metric: MetricName
    purpose: str = Field("eval", max_length=20)


FORMAT_ERROR = "answer format: "
LATENCY = "whole wait of each call: retries, backoff and timeouts included"
BATCH_LATENCY = "whole wait of each request's batch, upload to download (no serving latency)"


def _answer(request: PreparedRequest, call: CallResult) -> Scored:
    """(answer, error): the call's error, or the answer its prompt kind asks for."""
    if call.error:
        return None, call.error
    try:
        answer = extract_answer(request.prompt_kind, call.text)
    except AnswerFormatError as exc:
        return None, f"{FORMAT_ERROR}{exc}"
    return (extract(request.answers, answer) if request.answers else answer), None


def _wrong_format_is_zero(score: float | None, error: str | None) -> Scored:
    """An answer without the asked format is a wrong answer (0), not a missing one."""
    if score is None and error is not None and error.startswith(FORMAT_ERROR):
        return 0.0, error
    return score, error


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

    An item without a score (its call or its judge failed) is missing, never a 0: the mean and
    its interval are over the scored items and `error_rate` is the share of missing ones. Tokens
    and cost are per query that got a response (one with token usage); latency percentiles
    include failed calls, whose wait was real.
    """
    if not results:
        raise InputError(f"{target.use_case}: no eval items to aggregate")
    n = len(results)
    scores = [r.score for r in results if r.score is not None]
    answered = [r for r in results if r.prompt_tokens or r.completion_tokens]
    prompt_tokens = sum(r.prompt_tokens for r in answered) / max(len(answered), 1)
    completion_tokens = sum(r.completion_tokens for r in answered) / max(len(answered), 1)
    latencies = sorted(r.latency_ms for r in results)
    # With nothing scored the run is invalid (see `invalid_reason`); 0s only fill the fields.
    low, high = bootstrap_interval(scores, samples=samples, seed=seed) if scores else (0.0, 0.0)
    cost = None
    if price is not None:
        cost = (prompt_tokens * price.input_per_m + completion_tokens * price.output_per_m) / 1e6
    return EvalRun(
        **target.model_dump(),
        n=n,
        mean=mean(scores),
        ci_low=low,
        ci_high=high,
        error_rate=(n - len(scores)) / n,
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


def invalid_reason(
    run: EvalRun,
    requests: Sequence[PreparedRequest],
    base_url: str,
    max_error_rate: float,
    judge_model: str | None = None,
) -> str | None:
    """Why a run is no measurement (too many missing items), naming endpoint, model and error.

    None when it is a measurement: at least one item scored and an error rate within the limit.
    """
    missing = [(i, r) for i, r in enumerate(run.results) if r.score is None]
    if not missing or (len(missing) < run.n and run.error_rate <= max_error_rate):
        return None
    index, first = missing[0]
    error = first.error or "no score"
    judged = judge_model is not None and error.startswith("judge:")
    model = judge_model if judged else requests[index].model
    return (
        f"{len(missing)} of {run.n} items failed (error rate {run.error_rate:.1%} > "
        f"max_error_rate {max_error_rate:g}) at {base_url} with model {model}; "
        f"first error: {error}"
    )


def require_valid(run: EvalRun) -> EvalRun:
    """The run itself if it is a measurement; else MeasurementInvalid (after it is stored)."""
    if run.valid:
        return run
    stored = f"; eval run #{run.id} is stored as invalid" if run.id is not None else ""
    raise MeasurementInvalid(f"{run.use_case}: could not measure: {run.invalid_reason}{stored}")


def _chat_request(r: PreparedRequest) -> ChatRequest:
    """The provider call of a prepared request."""
    return ChatRequest(r.model, r.messages, r.temperature, r.max_tokens, tuple(r.stop))


async def _evaluate(
    requests: Sequence[PreparedRequest],
    items: Sequence[EvalItem],
    target: EvalTarget,
    provider: ProviderOptions,
    judge_model: str | None,
    cache: ResponseCache | None,
    on_done: Callable[[int], None] | None,
    batch_api: BatchOptions | None = None,
    waiting: dict[str, Any] | None = None,
    max_error_rate: float | None = None,
) -> tuple[list[ItemResult], dict[str, Any]]:
    """Per-item results and run counters of one batch (and its judge batch).

    With `batch_api` the answers (and the judge's verdicts) come from the provider's Batch API
    instead of online calls, waited for as `waiting` says; everything after the answers is the
    same.
    """
    batch = {
        "concurrency": provider.concurrency,
        "max_retries": provider.max_retries,
        "cache": cache,
        "on_done": on_done,
        # A batch that can no longer be a measurement stops sending (a 429 storm).
        "max_error_rate": max_error_rate,
        "on_result": lambda _, call: progress.tick(error=call.error is not None),
    }
    chat = [_chat_request(r) for r in requests]
    retries = provider.max_retries if batch_api else 0
    async with build_client(provider, sdk_retries=retries) as client:
        batch_ids = None
        if batch_api is None:
            calls = await complete_batch(client, chat, **batch)
        else:
            calls, batch_ids = await complete_in_batches(
                client, chat, batch_api, cache=cache, on_done=on_done, **(waiting or {})
            )
        answers = [_answer(r, c) for r, c in zip(requests, calls.results, strict=True)]
        batches = [calls]
        scorer = METRICS[target.metric].score
        if scorer is None:
            assert judge_model, "evaluate() checks that llm_judge has a judge model"
            by_batch = None
            if batch_api is not None:

                async def by_batch(prompts: list[ChatRequest]) -> BatchResult:
                    """The judge's requests as batches too."""
                    result, ids = await complete_in_batches(
                        client, prompts, batch_api, cache=cache, on_done=on_done, **(waiting or {})
                    )
                    batch_ids.extend(ids)
                    return result

            scores, verdicts = await judge_scores(
                client, judge_model, items, answers, batch, complete=by_batch
            )
            batches.append(verdicts)
        else:
            scores = _metric_scores(scorer, items, answers)
    judged_by = judge_model if scorer is None else None
    return _item_results(items, calls, scores), _counters(batches, judged_by, batch_ids)


def _metric_scores(
    scorer: Callable[[str, str], Any],
    items: Sequence[EvalItem],
    answers: Sequence[tuple[str | None, str | None]],
) -> list[tuple[Any, str | None]]:
    """Each answer scored against its item's expected answer (the error where it has none)."""
    return [
        (scorer(answer, item.expected), None) if answer is not None else (None, error)
        for item, (answer, error) in zip(items, answers, strict=True)
    ]


def _item_results(
    items: Sequence[EvalItem], calls: BatchResult, scores: Sequence[tuple[Any, Any]]
) -> list[ItemResult]:
    """One result per item: its answer's call and its score (or the error instead)."""
    # Built from typed values: validating thousands of results again would only cost time.
    return [
        ItemResult.model_construct(
            item_id=item.id,
            score=score,
            output=call.text,
            latency_ms=call.latency_ms,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            error=error,
        )
        for item, call, (score, error) in zip(
            items, calls.results, (_wrong_format_is_zero(*s) for s in scores), strict=True
        )
    ]


def _counters(
    batches: Sequence[BatchResult], judge_model: str | None, batch_ids: list[str] | None
) -> dict[str, Any]:
    """The run's counters over the answers' batch (first) and the judge's, if any."""
    counters = {
        "provider_calls": sum(b.provider_calls for b in batches),
        "retries": sum(b.retries for b in batches),
        "extra": {
            "provider_errors": sum(bool(c.error) for b in batches for c in b.results),
            "cached": sum(c.cached for c in batches[0].results),
            "judge_model": judge_model,
            "latency": LATENCY if batch_ids is None else BATCH_LATENCY,
        },
    }
    if batch_ids is not None:
        counters["extra"] |= {"transport": "batch", "batch_ids": batch_ids}
    return counters


def _waiting(options: BatchOptions, store_url: str | None, ended: Ended | None) -> dict[str, Any]:
    """How a batch eval waits: cut short by the webhook's flag; in a run that may suspend, it
    takes the batch recorded for the same input and gives up after `suspend_after_seconds`."""
    if ended is None and store_url:
        ended = ended_by_webhook(store_url)
    waiting: dict[str, Any] = {"ended": ended}
    if (suspension := current_suspension()) is not None:
        waiting |= {"find": suspension.find, "suspend_after": options.suspend_after_seconds}
    return waiting


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
    max_error_rate: float = MAX_ERROR_RATE,
    on_done: Callable[[int], None] | None = None,
    batch_api: BatchOptions | None = None,
    ended: Ended | None = None,
) -> EvalRun:
    """Score prepared requests on their items, through the response cache of `store_url`.

    `batch_api`: answer through the provider's Batch API (priced with the batch factor);
    `ended(batch_id)` says whether a provider webhook reported that batch's end.

    `on_done(i)` is called as each request of the batch (then of the judge batch) finishes.
    A run with more missing items than `max_error_rate` allows comes back with its
    `invalid_reason` set: store it for diagnosis, then `require_valid` it.
    """
    by_id = {item.id: item for item in items}
    missing = [r.item_id for r in requests if r.item_id not in by_id]
    if missing:
        raise InputError(f"requests name unknown eval items: {', '.join(missing[:5])}")
    if target.metric == "llm_judge" and not judge_model:
        raise InputError("metric llm_judge needs a judge model")
    ordered = [by_id[r.item_id] for r in requests]
    cache = StoreResponseCache(store_url) if store_url and use_cache else None
    waiting = _waiting(batch_api, store_url, ended) if batch_api is not None else None
    results, counters = run_sync(
        lambda: _evaluate(
            requests,
            ordered,
            target,
            provider,
            judge_model,
            cache,
            on_done,
            batch_api,
            waiting,
            max_error_rate,
        )
    )
    if batch_api is not None and price is not None:
        price = price.for_batch()
    run = summarise(target, results, price=price, samples=samples, seed=seed, **counters)
    reason = invalid_reason(run, requests, provider.base_url, max_error_rate, judge_model)
    return run.model_copy(update={"invalid_reason": reason}) if reason else run
