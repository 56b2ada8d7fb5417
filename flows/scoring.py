"""Score a configuration on an eval set, as a check does, through Prefect tasks.

Requests are prepared with `prepare_variant` and scored with the options and judge guardrail
of flows/variant_scoring.py, which `phasegate eval` uses too, so a score means the same
wherever it comes from; a check reuses the run of an unchanged configuration.
"""

from flows.context import UseCaseContext, current_run_id
from flows.variant_scoring import grade_guardrail, prepare_variant, scoring_options
from state.domain import Configuration, EvalItem, EvalRun
from tasks import progress
from tasks.eval_sets import load_eval_set
from tasks.evaluation import EvalTarget, PreparedRequest, output_fields, require_valid
from tasks.prompts import Passage
from tasks.reports import publish_eval_table
from tasks.retrieval import retrieve_passages
from tasks.routing import rule_of
from tasks.scoring_tasks import judge_answers, score_requests


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
    with_decision: bool = False,
) -> EvalRun:
    """Score a configuration on these items now and record the run (no stored run is reused).

    `use_cache=False` also bypasses the response cache: every item is asked again. A run that
    is no measurement is recorded as invalid, then raises MeasurementInvalid. `passages`: the
    items' passages, when the caller retrieved them already. `with_decision`: in a check, the
    run is kept for its decision to store (`UseCaseContext.keep_run`), as nothing reads it
    from the store before.
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
        run = _score_as_tasks(ctx, requests, items, target, model=config.model, use_cache=use_cache)
    run = run.model_copy(update={"flow_run_id": current_run_id()})
    recorded = ctx.keep_run(run) if with_decision else ctx.store.record_eval_run(run)
    # An invalid run is kept for diagnosis, then stops the caller: nothing may read it.
    require_valid(recorded)
    if recorded.id > 0:  # a kept run's table is published once its decision stored it
        publish_eval_table(recorded)
    return recorded


def _score_as_tasks(
    ctx: UseCaseContext,
    requests: list[PreparedRequest],
    items: list[EvalItem],
    target: EvalTarget,
    *,
    model: str,
    use_cache: bool,
) -> EvalRun:
    """Score prepared requests as `score_prepared` does, as task runs of the running flow."""
    options = scoring_options(ctx, model, use_cache=use_cache, batch=None)
    run = score_requests(requests, items, target, ctx.provider, **options)
    return grade_guardrail(ctx, items, run, judge_answers)


def score_set(
    ctx: UseCaseContext,
    config: Configuration,
    items: list[EvalItem],
    set_hash: str,
    *,
    purpose: str = "eval",
    passages: list[list[Passage]] | None = None,
    with_decision: bool = False,
) -> EvalRun:
    """The stored (or kept) run of a configuration on an unchanged item set, else a new one."""
    found = ctx.find_run(config, set_hash)
    if found is not None:
        progress.stage(
            f"{ctx.label(config)}: eval run #{found.id} reused (configuration and "
            f"{purpose} set unchanged)"
        )
        return found
    return score_on(
        ctx,
        config,
        items,
        set_hash,
        purpose=purpose,
        passages=passages,
        with_decision=with_decision,
    )


def score_configuration(
    ctx: UseCaseContext,
    config: Configuration,
    *,
    use_cache: bool = True,
    purpose: str = "eval",
    passages: list[list[Passage]] | None = None,
    with_decision: bool = False,
) -> EvalRun:
    """The eval run of a configuration: the stored one if nothing changed, else a new one.

    `passages`: the eval items' passages, when the caller retrieved them already;
    `with_decision`: see `score_on`.
    """
    items, eval_hash = ctx.eval_set
    options = {"purpose": purpose, "passages": passages, "with_decision": with_decision}
    if use_cache:
        return score_set(ctx, config, items, eval_hash, **options)
    return score_on(ctx, config, items, eval_hash, use_cache=False, **options)


def score_canary(ctx: UseCaseContext, config: Configuration) -> EvalRun | None:
    """A configuration's run on the spec's canary set (reused if unchanged); None without one."""
    path = ctx.data_path("canary")
    if path is None:
        return None
    items, canary_hash = load_eval_set(path)
    return score_set(ctx, config, items, canary_hash, purpose="canary")
