"""The Prefect tasks of scoring: `evaluate` and `grade_answers` as task runs of a flow.

Thin wrappers: the work is in tasks/evaluation.py and tasks/judging.py, which import no
Prefect, so `phasegate eval` runs the same code without it.
"""

import itertools

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from state.domain import EvalItem, EvalRun
from state.settings import Price, ProviderOptions
from state.spec import MAX_ERROR_RATE
from tasks.evaluation import EvalTarget, PreparedRequest, evaluate
from tasks.judging import grade_answers
from tasks.llm_batch import BatchOptions


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
    max_error_rate: float = MAX_ERROR_RATE,
    batch_api: BatchOptions | None = None,
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
        max_error_rate=max_error_rate,
        on_done=progress,
        batch_api=batch_api,
    )
    if not run.valid:
        logger.warning("%s: no measurement: %s", target.use_case, run.invalid_reason)
        return run
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


@task(name="judge-answers", cache_policy=NO_CACHE)
def judge_answers(
    items: list[EvalItem],
    run: EvalRun,
    provider: ProviderOptions,
    judge_model: str,
    instructions: str | None = None,
) -> dict[str, float]:
    """Grade every answered item of a run with the judge model; an ungraded item is left out."""
    return grade_answers(items, run, provider, judge_model, instructions)
