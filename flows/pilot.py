"""The pilot: tune on a share of the training split first, and go on only if it gains.

The pilot's best checkpoint and the active configuration are scored on the same validation
items; unless the paired 95 % interval of the gain lies strictly above 0, the `pilot` check
fails and the move is held before the full run is paid for.
"""

from flows.checkpoints import (
    VALIDATION,
    CheckpointScore,
    ValidationSet,
    best_checkpoint,
    score_checkpoints,
)
from flows.context import UseCaseContext
from flows.scoring import score_set
from state.domain import GateResult
from state.errors import TrainingJobFailed
from state.spec import FineTuningSettings, PromptVariant
from tasks.costs import training_cost
from tasks.gates.inputs import Roles
from tasks.gates.paired import compare, superiority
from tasks.gates.registry import PILOT
from tasks.gates.results import PASS
from tasks.trainer import run_fine_tune_jobs
from tasks.trainer_jobs import JobOutcome
from tasks.training_data import PreparedTrainingSet, pilot_subset


def run_pilot(
    ctx: UseCaseContext,
    prepared: PreparedTrainingSet,
    validation: ValidationSet,
    variant: PromptVariant,
    *,
    base_model: str,
    poll_interval: float,
) -> tuple[GateResult, JobOutcome]:
    """Tune on the pilot's share, score its checkpoints and the active configuration on
    validation; the `pilot` check and the pilot's job."""
    settings = ctx.spec.fine_tuning
    share = settings.pilot.share
    subset = pilot_subset(prepared, share, settings.seed)
    (outcome,) = run_fine_tune_jobs(
        subset,
        [settings],
        base_model,
        ctx.trainer,
        poll_interval,
        ctx.settings.training_timeout,
        store_url=ctx.store_url,
    )
    if outcome.status != "succeeded" or not outcome.fine_tuned_model:
        raise TrainingJobFailed(f"pilot: {outcome.cause}")
    scores = score_checkpoints(ctx, [outcome], validation, variant)
    best = best_checkpoint(scores)
    active = ctx.active_configuration()
    active_run = score_set(ctx, active, validation.items, validation.set_hash, purpose=VALIDATION)
    (pilot_run,) = ctx.store.get_eval_runs([best.eval_run_id])
    thresholds = ctx.spec.gates.rag_to_fine_tuning
    comparison = compare(active_run.scores(), pilot_run.scores(), thresholds)
    status = superiority(comparison, 0.0)
    evidence = _evidence(ctx, settings, prepared, subset, outcome, scores, base_model)
    shown = comparison.interval() if comparison.enough else comparison.shortfall()
    verdict = (
        "gains on validation; the full run goes ahead"
        if status == PASS
        else "shows no gain over the active configuration on validation; the full run is "
        f"not started (≈ {evidence['full_run_tokens']:,} trained tokens saved)"
    )
    detail = (
        f"pilot on {share:.0%} of the training split ({subset.train_examples} examples), best "
        f"checkpoint epoch {best.epoch} vs the active configuration #{active.id}: {shown}; "
        f"{verdict}"
    )
    gate = PILOT.result(
        status,
        detail,
        observed=comparison.gain,
        threshold=0.0,
        active_eval_run_id=active_run.id,
        **evidence,
        **comparison.evidence(_ROLES),
    )
    return gate, outcome


_ROLES = Roles(subject="pilot", subject_name="the pilot")


def _evidence(
    ctx: UseCaseContext,
    settings: FineTuningSettings,
    prepared: PreparedTrainingSet,
    subset: PreparedTrainingSet,
    outcome: JobOutcome,
    scores: list[CheckpointScore],
    base_model: str,
) -> dict:
    """What the pilot cost, what the full run would have cost, and every checkpoint's score."""
    price = ctx.settings.price_for(base_model)
    trained = outcome.trained_tokens or 0
    full = sum(prepared.report.total_tokens * epochs for epochs, _ in _runs(settings))
    return {
        "share": settings.pilot.share,
        "job_id": outcome.id,
        "pilot_examples": subset.train_examples,
        "pilot_trained_tokens": trained,
        "pilot_cost_usd": training_cost(price, trained) if price else None,
        "full_run_tokens": full,
        "full_run_cost_usd": training_cost(price, full) if price else None,
        "checkpoints": [s.model_dump() for s in scores],
    }


def _runs(settings: FineTuningSettings) -> list[tuple[int, float]]:
    """The full run's points: the search's grid, or the spec's one setting."""
    if settings.search is None:
        return [(settings.n_epochs, settings.learning_rate_multiplier)]
    return settings.search.points()
