"""The prompting phase: score every prompt variant on the same inputs and keep the best.

With `rollout.ab.online`, the offline A/B also says which other variants may go online next to
the winner (docs/rollouts.md): those whose guardrails hold against it, within the spec's
`max_offline_gap` of its mean.
"""

from prefect import flow, get_run_logger

from flows.context import UseCaseContext
from flows.labels import build_prompting_run_name
from flows.results import Candidate, VariantScore
from flows.scoring import score_configuration
from state.domain import ConfigurationDraft, EvalRun, GateResult
from state.phases import Phase
from tasks.gates import FAIL, ONLINE_AB, PASS, GateInputs, Roles, apply_checks, gate_guardrails

# Each variant held against the offline winner; its guardrail results are named `<label>:…`.
VARIANT = Roles(
    baseline="winner",
    subject="variant",
    baseline_name="the offline winner",
    subject_name="the variant",
)


@flow(name="build-prompting", flow_run_name=build_prompting_run_name, log_prints=False)
def build_prompting(use_case: str, use_cache: bool = True) -> Candidate:
    """A/B the use case's prompt variants on its eval set; the best becomes the candidate.

    In a check, the variants' configurations and runs are stored with its decision.
    """
    logger = get_run_logger()
    ctx = UseCaseContext.load(use_case)
    # In a check, what it scores is stored with its decision; but an online A/B's arms and
    # evidence name the variants' configurations and runs: those are stored now.
    with_decision = ctx.unstored is not None and not ctx.spec.rollout.ab.online
    draft = ConfigurationDraft(phase=Phase.PROMPTING, model=ctx.model, **ctx.output_settings)
    found = ctx.store.prompted_configurations(use_case, ctx.spec.prompts, draft)
    scores: list[VariantScore] = []
    runs = {}
    for version, stored in found:
        ctx.remember_prompt_version(version)
        wanted = draft.model_copy(update={"prompt_version_id": version.id})
        if with_decision:
            config = ctx.adopt(wanted, stored)
        else:
            config = stored or ctx.store.save_configuration(use_case, wanted)
        run = score_configuration(ctx, config, use_cache=use_cache, with_decision=with_decision)
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
    evidence = {"winner": best.label, "variants": {s.label: s.mean for s in scores}}
    gates: list[GateResult] = []
    if ctx.spec.rollout.ab.online:
        online, gates = online_variants(ctx, scores, best, runs)
        evidence["online"] = online
    return Candidate(
        phase=Phase.PROMPTING,
        configuration_id=best.configuration_id,
        eval_run=runs[best.configuration_id],
        variants=scores,
        evidence=evidence,
        gate_results=gates,
    )


def online_variants(
    ctx: UseCaseContext,
    scores: list[VariantScore],
    best: VariantScore,
    runs: dict[int, EvalRun],
) -> tuple[dict[str, dict[str, int]], list[GateResult]]:
    """The variants that go online next to the winner, and why.

    Each online variant's label maps to its `configuration_id` and `eval_run_id`.

    A variant stays offline when one of its guardrails fails against the winner or its mean
    is more than `max_offline_gap` below the winner's.
    """
    gap = ctx.spec.rollout.ab.max_offline_gap
    online: dict[str, dict[str, int]] = {}
    offline: dict[str, str] = {}
    gates: list[GateResult] = []
    for score in scores:
        if score == best:
            continue
        inputs = GateInputs(
            use_case=ctx.name,
            transition=Phase.PROMPTING.transition,
            thresholds=ctx.spec.gates.prompting_to_rag,
            roles=VARIANT.model_copy(update={"prefix": f"{score.label}:"}),
            baseline=runs[best.configuration_id],
            subject=runs[score.configuration_id],
            guardrails=ctx.spec.guardrails,
        )
        held = apply_checks([gate_guardrails], inputs)
        gates += held
        if failed := [r.check for r in held if r.status == FAIL]:
            offline[score.label] = f"guardrails fail: {', '.join(failed)}"
        elif gap is not None and best.mean - score.mean > gap:
            offline[score.label] = f"{best.mean - score.mean:.3f} below the winner (gap {gap:g})"
        else:
            online[score.label] = {
                "configuration_id": score.configuration_id,
                "eval_run_id": score.eval_run_id,
            }
    said = ", ".join(online) or "none"
    kept = "; ".join(f"{k}: {v}" for k, v in offline.items())
    result = ONLINE_AB.result(
        PASS,
        f"online next to {best.label}: {said}" + (f"; offline: {kept}" if kept else ""),
        observed=len(online),
        online=online,
        offline=offline,
    )
    return online, [*gates, result]
