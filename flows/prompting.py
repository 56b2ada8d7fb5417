"""The prompting phase: score every prompt variant on the same inputs and keep the best."""

from prefect import flow, get_run_logger

from flows.context import UseCaseContext
from flows.labels import build_prompting_run_name
from flows.results import Candidate, VariantScore
from flows.scoring import score_configuration
from state.domain import ConfigurationDraft
from state.phases import Phase


@flow(name="build-prompting", flow_run_name=build_prompting_run_name, log_prints=False)
def build_prompting(use_case: str, use_cache: bool = True) -> Candidate:
    """A/B the use case's prompt variants on its eval set; the best becomes the candidate."""
    logger = get_run_logger()
    ctx = UseCaseContext.load(use_case)
    scores: list[VariantScore] = []
    runs = {}
    for variant in ctx.spec.prompts:
        version, config = ctx.store.save_prompted_configuration(
            use_case,
            variant,
            ConfigurationDraft(phase=Phase.PROMPTING, model=ctx.model, **ctx.output_settings),
        )
        run = score_configuration(ctx, config, use_cache=use_cache)
        runs[config.id] = run
        tokens = run.prompt_tokens_per_query + run.completion_tokens_per_query
        scores.append(
            VariantScore(
                label=version.label,
                configuration_id=config.id,
                eval_run_id=run.id,
                mean=run.mean,
                tokens_per_query=tokens,
            )
        )
        logger.info(
            "%s: %s scored %.3f (%.0f tokens/query)", use_case, version.label, run.mean, tokens
        )
    best = min(scores, key=lambda s: (-s.mean, s.tokens_per_query))
    return Candidate(
        phase=Phase.PROMPTING,
        configuration_id=best.configuration_id,
        eval_run=runs[best.configuration_id],
        variants=scores,
        evidence={"winner": best.label, "variants": {s.label: s.mean for s in scores}},
    )
