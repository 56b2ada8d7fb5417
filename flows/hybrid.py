"""The hybrid candidate: the tuned model for inputs like its training data, RAG for the rest.

`check_hybrid` runs once a use case is in fine_tuning with a plain tuned configuration. It
takes the tuned model's train split as the reference inputs of the routing rule
(`tasks.routing`), scores the tuned and the RAG configuration on the validation split to
choose the threshold, builds the hybrid configuration (the tuned model's fields, with the rule
and the fallback in `routing`) and scores it on the eval set. The gate compares it with the
tuned model alone: the paired test (a gain of exactly 0 fails), the floor, the latency and,
with `data.canary`, the canary check (which also gives monitoring the hybrid's canary run).

A pass needs no approval, because both of its routes were approved when they became active,
and moves like any other (`Draft.advance`): with the spec's `rollout.steps` it records
`rolling_out` and the hybrid serves the first step's share of live traffic as the canary, the
tuned model staying active until the rollout promotes it (`docs/rollouts.md`); with
`steps: []` it records `advanced` with `to_phase` fine_tuning (from fine_tuning) and the hybrid
becomes active at once. Anything else records `held`, and the tuned model stays active; so
does a check while a rollout of the use case is live. A use case without an active plain
tuned model, a RAG configuration before it or a validation split is refused with
`InputError`, and nothing is recorded.
"""

from prefect import flow, get_run_logger

from flows.context import UseCaseContext, use_case_lease
from flows.fine_tuning import prepare
from flows.labels import hybrid_run_name
from flows.latency import time_side_by_side
from flows.recording import Draft, record
from flows.results import CheckOutcome
from flows.scoring import score_canary, score_configuration, score_set
from state.domain import Configuration, ConfigurationDraft
from state.errors import InputError
from state.phases import DecisionKind, GateStatus, Phase
from tasks.gates import (
    HYBRID,
    HYBRID_CHECKS,
    ROUTING,
    GateInputs,
    Verdict,
    apply_checks,
    unmet,
    verdict,
)
from tasks.routing import RoutingRule, choose_threshold, routing_of
from tasks.training_data import split_examples
from tasks.validation import example_pair, validation_items


def _routes(ctx: UseCaseContext) -> tuple[Configuration, Configuration]:
    """The active tuned configuration and the RAG configuration active before it."""
    active_id = ctx.use_case.active_configuration_id
    tuned = ctx.store.get_configuration(active_id) if active_id else None
    if tuned is None or tuned.model_version_id is None or tuned.routing is not None:
        raise InputError(
            f"{ctx.name}: a hybrid needs an active fine-tuned configuration without routing; "
            f"the active phase is {ctx.use_case.active_phase}"
            + (f" (configuration #{tuned.id})" if tuned else "")
        )
    configs = ctx.store.earlier_configurations(ctx.name)
    fallback = next((c for c in configs if c.phase == Phase.RAG), None)
    if fallback is None:
        raise InputError(f"{ctx.name}: no RAG configuration was active before the tuned model")
    return tuned, fallback


def _routing_gate(ctx: UseCaseContext, tuned: Configuration, fallback: Configuration):
    """Choose the threshold on the validation split: (rule or None, the `routing` check)."""
    prepared, spec = prepare(ctx), ctx.spec.fine_tuning
    train, validation = split_examples(
        prepared.report.examples, validation_share=spec.validation_share, seed=spec.seed
    )
    references = [pair[0] for e in train if (pair := example_pair(e))]
    items = validation_items(validation)
    if not items or not references:
        raise InputError(
            f"{ctx.use_case.spec_path}: fine_tuning.validation_share: {spec.validation_share} "
            f"leaves {len(items)} validation and {len(references)} training examples; a "
            "hybrid needs both to choose its routing threshold"
        )
    version = ctx.store.get_model_version(tuned.model_version_id)
    if version.training_file_hash != prepared.training_file_hash:
        detail = (
            f"the training data changed since model version #{version.id} was tuned: its "
            "train split is not the tuned model's; tune again before building a hybrid"
        )
        return None, ROUTING.result(GateStatus.FAIL, detail)
    set_hash = prepared.validation_file_hash or ""
    tuned_run = score_set(ctx, tuned, items, set_hash, purpose="validation")
    fallback_run = score_set(ctx, fallback, items, set_hash, purpose="validation")
    rule = RoutingRule(threshold=0.0, reference_inputs=references)
    tuned_scores, fallback_scores = tuned_run.scores(), fallback_run.scores()
    # A failed call is a missing item, not a 0: choose on the items both routes answered.
    paired = [item for item in items if item.id in tuned_scores.keys() & fallback_scores.keys()]
    choice = choose_threshold(
        [rule.similarity(item.input) for item in paired],
        [tuned_scores[item.id] for item in paired],
        [fallback_scores[item.id] for item in paired],
    )
    detail = (
        f"threshold {choice.threshold:.3f} chosen on {choice.n} validation inputs: routed "
        f"{choice.routed_mean:.3f} (tuned alone {choice.tuned_mean:.3f}, RAG alone "
        f"{choice.fallback_mean:.3f}), {choice.tuned_share:.0%} to the tuned model"
    )
    gate = ROUTING.result(
        GateStatus.PASS,
        detail,
        observed=choice.threshold,
        **choice.model_dump(),
        validation_eval_run_ids=[tuned_run.id, fallback_run.id],
        reference_inputs=len(references),
    )
    return rule.model_copy(update={"threshold": choice.threshold}), gate


def _hybrid(ctx: UseCaseContext) -> CheckOutcome:
    """Build, score and gate the hybrid; record advanced (or rolling_out) or held."""
    if (live := ctx.store.get_live_rollout(ctx.name)) is not None:
        return Draft(ctx, live.to_phase, ctx.use_case.active_configuration_id).hold_for(live)
    tuned, fallback = _routes(ctx)
    tuned_run = score_configuration(ctx, tuned)
    rule, routing = _routing_gate(ctx, tuned, fallback)
    draft = Draft(ctx, Phase.FINE_TUNING, tuned.id, active=tuned_run, gates=[routing])
    if rule is None:
        return draft.hold(f"no hybrid: {routing.detail}")
    hybrid = ctx.store.save_configuration(
        ctx.name,
        ConfigurationDraft(
            phase=Phase.FINE_TUNING,
            model=tuned.model,
            prompt_version_id=tuned.prompt_version_id,
            model_version_id=tuned.model_version_id,
            routing=routing_of(rule, tuned_configuration_id=tuned.id, fallback=fallback),
        ),
    )
    draft.candidate = score_configuration(ctx, hybrid)
    inputs = GateInputs(
        use_case=ctx.name,
        transition="rag_to_fine_tuning",
        thresholds=ctx.spec.gates.rag_to_fine_tuning,
        constraints=ctx.spec.constraints,
        roles=HYBRID,
        guardrails=ctx.spec.guardrails,
        prices_active=ctx.settings.price_for(tuned.model),
        prices_candidate=ctx.settings.price_for(hybrid.model),
        baseline=tuned_run,
        subject=draft.candidate,
        canary_baseline=score_canary(ctx, tuned),
        canary_subject=score_canary(ctx, hybrid),
        latency_pairs=time_side_by_side(ctx, tuned, hybrid),
    )
    checks = apply_checks(HYBRID_CHECKS, inputs)
    draft.gates += checks
    get_run_logger().info(
        "%s: hybrid #%d scored %.3f, tuned alone %.3f",
        ctx.name,
        hybrid.id,
        draft.candidate.mean,
        tuned_run.mean,
    )
    if verdict(draft.gates) == Verdict.ADVANCE:
        gain = next(g for g in checks if g.check == "hybrid_gain")
        return draft.advance(f"the hybrid beats the tuned model alone: {gain.detail}")
    return draft.hold(f"the tuned model stays: {unmet(draft.gates)}")


@flow(name="check-hybrid", flow_run_name=hybrid_run_name)
def check_hybrid(use_case: str) -> CheckOutcome:
    """Build and gate the hybrid of the active tuned model and the RAG configuration before it."""
    ctx = UseCaseContext.load(use_case)
    with use_case_lease(ctx) as held:
        if not held:
            return record(
                ctx,
                DecisionKind.SKIPPED,
                ctx.use_case.active_phase,
                f"check {held.holder} is running",
                gates=[],
                configuration_id=ctx.use_case.active_configuration_id,
            )
        return _hybrid(UseCaseContext.load(use_case))
