"""Score a stored configuration on the use case's eval set, reusing an unchanged run."""

from flows.context import UseCaseContext, current_run_id
from state.db import store_session
from state.domain import Configuration, EvalItem, EvalRun
from state.evals import find_eval_run, record_eval_run
from state.prompt_library import get_prompt_version
from tasks.eval_sets import load_examples, normalise_input
from tasks.evaluation import EvalTarget, PreparedRequest, score_requests
from tasks.prompts import build_messages
from tasks.retrieval import retrieve_passages


def prepare_requests(
    ctx: UseCaseContext, config: Configuration, items: list[EvalItem]
) -> list[PreparedRequest]:
    """Render every item's messages under a configuration: prompt, examples, passages."""
    with store_session(ctx.store_url) as session:
        version = get_prompt_version(config.prompt_version_id, session=session)
    variant = version.variant
    examples = []
    if variant.kind == "few_shot" and (training := ctx.data_path("training")):
        exclude = {normalise_input(item.input) for item in items}
        examples = load_examples(training, variant.k, exclude)
    passages = [[] for _ in items]
    if config.retrieval:
        passages = retrieve_passages(
            ctx.name, [item.input for item in items], config.retrieval["top_k"], ctx.store_url
        )
    return [
        PreparedRequest(
            item_id=item.id,
            model=config.model,
            messages=build_messages(variant, item.input, examples=examples, passages=found),
            prompt_kind=variant.kind,
        )
        for item, found in zip(items, passages, strict=True)
    ]


def score_configuration(
    ctx: UseCaseContext, config: Configuration, *, use_cache: bool = True, purpose: str = "eval"
) -> EvalRun:
    """The eval run of a configuration: the stored one if nothing changed, else a new one."""
    items, eval_hash = ctx.eval_set
    if use_cache:
        with store_session(ctx.store_url) as session:
            found = find_eval_run(ctx.name, config.id, eval_hash, ctx.spec.metric, session=session)
        if found is not None:
            return found
    target = EvalTarget(
        use_case=ctx.name,
        configuration_id=config.id,
        eval_set_hash=eval_hash,
        metric=ctx.spec.metric,
        purpose=purpose,
    )
    run = score_requests(
        prepare_requests(ctx, config, items),
        items,
        target,
        ctx.provider,
        store_url=ctx.store_url,
        use_cache=use_cache,
        judge_model=ctx.settings.judge_model,
        price=ctx.settings.price_for(config.model),
    )
    with store_session(ctx.store_url) as session:
        return record_eval_run(
            run.model_copy(update={"flow_run_id": current_run_id()}), session=session
        )
