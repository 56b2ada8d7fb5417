"""Score a configuration (a check) or a prompt variant (`phasegate eval`) on an eval set.

Both prepare their requests with `prepare_variant` and score them with `score_prepared`, so
the few-shot rule, the response cache, the price, the judge and the error-rate limit are
the same wherever a score comes from; a check reuses the run of an unchanged configuration.
"""

from collections.abc import Callable
from typing import Any

from flows.context import UseCaseContext, current_run_id
from state.domain import Configuration, EvalItem, EvalRun
from state.errors import SpecError
from state.spec import PromptVariant
from tasks import progress
from tasks.eval_sets import load_eval_set, load_examples, normalise_input
from tasks.evaluation import (
    EvalTarget,
    PreparedRequest,
    evaluate,
    output_fields,
    require_valid,
    score_requests,
)
from tasks.judging import judge_answers, judge_guardrail
from tasks.llm_batch import BatchOptions
from tasks.prompts import Passage, build_messages
from tasks.reports import publish_eval_table
from tasks.retrieval import retrieve_passages
from tasks.routing import rule_of


def retrieve_for(
    ctx: UseCaseContext, config: Configuration, items: list[EvalItem]
) -> list[list[Passage]]:
    """Every item's passages under a configuration: its top k, or none without retrieval."""
    if not (retrieval := config.retrieval):
        return [[] for _ in items]
    return retrieve_passages(
        ctx.name,
        [item.input for item in items],
        retrieval["top_k"],
        ctx.store_url,
        # Configurations stored before the embeddings retriever existed name no retriever.
        retriever=retrieval.get("retriever", "fts"),
        embedding_model=retrieval.get("embedding_model"),
        provider=ctx.provider,
    )


def few_shot_examples(
    ctx: UseCaseContext, variant: PromptVariant, items: list[EvalItem]
) -> list[tuple[str, str]]:
    """A few-shot variant's examples: k training pairs that are no eval input; none otherwise.

    A few-shot prompt needs `data.training`: without it, a SpecError naming the prompt.
    """
    if variant.kind != "few_shot":
        return []
    training = ctx.data_path("training")
    if training is None:
        where = f"{ctx.use_case.spec_path}: prompts.{variant.name}"
        raise SpecError(f"{where}: few-shot needs data.training")
    return load_examples(training, variant.k, {normalise_input(item.input) for item in items})


def prepare_variant(
    ctx: UseCaseContext,
    variant: PromptVariant,
    model: str,
    items: list[EvalItem],
    *,
    passages: list[list[Passage]] | None = None,
    output: dict[str, Any] | None = None,
) -> list[PreparedRequest]:
    """Render every item's messages for a prompt variant and model: examples, passages.

    `output`: the generation and answer settings (`output_fields`); the spec's by default.
    """
    examples = few_shot_examples(ctx, variant, items)
    passages = passages or [[] for _ in items]
    if output is None:
        output = output_fields(ctx.spec.generation, ctx.spec.answers)
    return [
        PreparedRequest(
            item_id=item.id,
            model=model,
            messages=build_messages(variant, item.input, examples=examples, passages=found),
            prompt_kind=variant.kind,
            **output,
        )
        for item, found in zip(items, passages, strict=True)
    ]


def prepare_requests(
    ctx: UseCaseContext,
    config: Configuration,
    items: list[EvalItem],
    passages: list[list[Passage]] | None = None,
) -> list[PreparedRequest]:
    """Render every item's messages under a configuration: prompt, examples, passages.

    A RAG configuration retrieves each item's passages, unless they are given.
    """
    variant = ctx.prompt_version(config.prompt_version_id).variant
    if passages is None:
        passages = retrieve_for(ctx, config, items)
    output = output_fields(config.generation, config.answers)
    return prepare_variant(ctx, variant, config.model, items, passages=passages, output=output)


def prepare_routed(
    ctx: UseCaseContext,
    config: Configuration,
    items: list[EvalItem],
    passages: None = None,
) -> list[PreparedRequest]:
    """Render every item under the route a hybrid configuration's rule picks for its input."""
    routing = config.routing or {}
    tuned, fallback = ctx.store.get_configurations(
        [routing["tuned_configuration_id"], routing["fallback_configuration_id"]]
    )
    rule = rule_of(routing)
    to_tuned = [item for item in items if rule.to_tuned(item.input)]
    ids = {item.id for item in to_tuned}
    rest = [item for item in items if item.id not in ids]
    # Requests are matched to items by id, so the two routes need not keep the items' order.
    return [
        *(prepare_requests(ctx, tuned, to_tuned) if to_tuned else []),
        *(prepare_requests(ctx, fallback, rest) if rest else []),
    ]


def score_on(
    ctx: UseCaseContext,
    config: Configuration,
    items: list[EvalItem],
    set_hash: str,
    *,
    use_cache: bool = True,
    purpose: str = "eval",
    passages: list[list[Passage]] | None = None,
) -> EvalRun:
    """Score a configuration on these items now and record the run (no stored run is reused).

    `use_cache=False` also bypasses the response cache: every item is asked again. A run that
    is no measurement is recorded as invalid, then raises MeasurementInvalid. `passages`: the
    items' passages, when the caller retrieved them already.
    """
    target = EvalTarget(
        use_case=ctx.name,
        configuration_id=config.id,
        eval_set_hash=set_hash,
        metric=ctx.spec.metric,
        purpose=purpose,
    )
    prepare = prepare_routed if config.routing else prepare_requests
    requests = prepare(ctx, config, items, passages)
    calls, label = len(items) * (2 if ctx.spec.metric == "llm_judge" else 1), ctx.label(config)
    progress.stage(f"scoring {label} on {len(items)} {purpose} items ({calls} calls)")
    with progress.batch(label, calls):
        run = score_prepared(ctx, requests, items, target, model=config.model, use_cache=use_cache)
    recorded = ctx.store.record_eval_run(run.model_copy(update={"flow_run_id": current_run_id()}))
    # An invalid run is kept for diagnosis, then stops the caller: nothing may read it.
    require_valid(recorded)
    publish_eval_table(recorded)
    return recorded


def score_prepared(
    ctx: UseCaseContext,
    requests: list[PreparedRequest],
    items: list[EvalItem],
    target: EvalTarget,
    *,
    model: str,
    use_cache: bool = True,
    batch: bool | None = None,
    on_done: Callable[[int], None] | None = None,
) -> EvalRun:
    """Score prepared requests as every check does, and grade them for a judge guardrail.

    The response cache, the judge, the price of `model` and the spec's error-rate limit are
    the check's; `batch` answers through the Batch API (None: the spec's `eval.mode`).
    `on_done(i)` is called as each call finishes (`phasegate eval`'s bar); without it the
    scoring is the `score-requests` task of the running flow, which logs its progress.
    A run that is no measurement comes back with its `invalid_reason` set, ungraded.
    """
    by_batch = ctx.spec.eval.mode == "batch" if batch is None else batch
    options: dict[str, Any] = {
        "store_url": ctx.store_url,
        "use_cache": use_cache,
        "judge_model": ctx.settings.judge_model,
        "price": ctx.settings.price_for(model),
        "max_error_rate": ctx.spec.gates.max_error_rate,
        "batch_api": BatchOptions.of(ctx.spec.eval) if by_batch else None,
    }
    if on_done is None:
        run = score_requests(requests, items, target, ctx.provider, **options)
    else:
        run = evaluate(requests, items, target, ctx.provider, on_done=on_done, **options)
    # An invalid run is no measurement: its answers are not worth grading.
    if run.valid and (judged := judge_guardrail(ctx.spec)) is not None:
        grades = judge_answers(items, run, ctx.provider, ctx.settings.judge_model, judged.rubric)
        run = run.model_copy(update={"extra": (run.extra or {}) | {"judge_scores": grades}})
    return run


def score_set(
    ctx: UseCaseContext,
    config: Configuration,
    items: list[EvalItem],
    set_hash: str,
    *,
    purpose: str = "eval",
    passages: list[list[Passage]] | None = None,
) -> EvalRun:
    """The stored run of a configuration on an unchanged item set, else a new one."""
    found = ctx.store.find_eval_run(ctx.name, config.id, set_hash, ctx.spec.metric)
    if found is not None:
        progress.stage(
            f"{ctx.label(config)}: eval run #{found.id} reused (configuration and "
            f"{purpose} set unchanged)"
        )
        return found
    return score_on(ctx, config, items, set_hash, purpose=purpose, passages=passages)


def score_configuration(
    ctx: UseCaseContext,
    config: Configuration,
    *,
    use_cache: bool = True,
    purpose: str = "eval",
    passages: list[list[Passage]] | None = None,
) -> EvalRun:
    """The eval run of a configuration: the stored one if nothing changed, else a new one.

    `passages`: the eval items' passages, when the caller retrieved them already.
    """
    items, eval_hash = ctx.eval_set
    if use_cache:
        return score_set(ctx, config, items, eval_hash, purpose=purpose, passages=passages)
    return score_on(
        ctx, config, items, eval_hash, use_cache=False, purpose=purpose, passages=passages
    )


def score_canary(ctx: UseCaseContext, config: Configuration) -> EvalRun | None:
    """A configuration's run on the spec's canary set (reused if unchanged); None without one."""
    path = ctx.data_path("canary")
    if path is None:
        return None
    items, canary_hash = load_eval_set(path)
    return score_set(ctx, config, items, canary_hash, purpose="canary")
