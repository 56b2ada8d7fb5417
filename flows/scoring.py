"""Score a stored configuration on the use case's eval set, reusing an unchanged run."""

from flows.context import UseCaseContext, current_run_id
from state.domain import Configuration, EvalItem, EvalRun
from tasks.eval_sets import load_eval_set, load_examples, normalise_input
from tasks.evaluation import (
    EvalTarget,
    PreparedRequest,
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


def prepare_requests(
    ctx: UseCaseContext,
    config: Configuration,
    items: list[EvalItem],
    passages: list[list[Passage]] | None = None,
) -> list[PreparedRequest]:
    """Render every item's messages under a configuration: prompt, examples, passages.

    A RAG configuration retrieves each item's passages, unless they are given.
    """
    version = ctx.store.get_prompt_version(config.prompt_version_id)
    variant = version.variant
    examples = []
    if variant.kind == "few_shot" and (training := ctx.data_path("training")):
        exclude = {normalise_input(item.input) for item in items}
        examples = load_examples(training, variant.k, exclude)
    if passages is None:
        passages = retrieve_for(ctx, config, items)
    output = output_fields(config.generation, config.answers)
    return [
        PreparedRequest(
            item_id=item.id,
            model=config.model,
            messages=build_messages(variant, item.input, examples=examples, passages=found),
            prompt_kind=variant.kind,
            **output,
        )
        for item, found in zip(items, passages, strict=True)
    ]


def prepare_routed(
    ctx: UseCaseContext, config: Configuration, items: list[EvalItem], passages: None = None
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
    run = score_requests(
        prepare(ctx, config, items, passages),
        items,
        target,
        ctx.provider,
        store_url=ctx.store_url,
        use_cache=use_cache,
        judge_model=ctx.settings.judge_model,
        price=ctx.settings.price_for(config.model),
        max_error_rate=ctx.spec.gates.max_error_rate,
        batch_api=BatchOptions.of(ctx.spec.eval) if ctx.spec.eval.mode == "batch" else None,
    )
    # An invalid run is no measurement: its answers are not worth grading.
    if run.valid and (judged := judge_guardrail(ctx.spec)) is not None:
        grades = judge_answers(items, run, ctx.provider, ctx.settings.judge_model, judged.rubric)
        run = run.model_copy(update={"extra": (run.extra or {}) | {"judge_scores": grades}})
    recorded = ctx.store.record_eval_run(run.model_copy(update={"flow_run_id": current_run_id()}))
    # An invalid run is kept for diagnosis, then stops the caller: nothing may read it.
    require_valid(recorded)
    publish_eval_table(recorded)
    return recorded


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
    return found or score_on(ctx, config, items, set_hash, purpose=purpose, passages=passages)


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
