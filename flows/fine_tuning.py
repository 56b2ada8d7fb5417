"""The fine-tuning phase: prepare the training set, pilot, tune, choose a checkpoint, score.

The order of one build: validate and split the training data; with `fine_tuning.pilot`, tune
on a share first and stop (`NotBuilt`) unless it gains on validation; run the job, or one job
per point of `fine_tuning.search`; score every checkpoint on the validation split and register
the best as the tuned model; score it on the eval set. A job that fails or is cancelled raises
`TrainingJobFailed` (the check records `held` with its cause; nothing becomes active).
"""

from typing import Any

from prefect import flow, get_run_logger

from flows.checkpoints import (
    CheckpointScore,
    ValidationSet,
    best_checkpoint,
    job_costs,
    score_checkpoints,
    selection_gate,
    tuned_variant,
)
from flows.context import UseCaseContext
from flows.labels import build_fine_tuning_run_name
from flows.pilot import run_pilot
from flows.results import Candidate, NotBuilt
from flows.scoring import score_configuration
from state.domain import ConfigurationDraft, GateResult
from state.errors import SpecError, TrainingJobFailed
from state.phases import Phase
from state.spec import FineTuningSettings
from tasks.gates.results import PASS
from tasks.trainer import run_fine_tune_jobs
from tasks.trainer_jobs import JobOutcome
from tasks.training_data import PreparedTrainingSet, prepare_training_set, split_examples
from tasks.validation import validation_items


def prepare(ctx: UseCaseContext) -> PreparedTrainingSet:
    """Validate, de-duplicate, leakage-check and split the training data of a use case."""
    training = ctx.data_path("training")
    interactions = ctx.store.list_labelled_interactions(ctx.name)
    if training is None and not interactions:
        raise SpecError(f"{ctx.use_case.spec_path}: data.training: no training data")
    items, _ = ctx.eval_set
    return prepare_training_set(ctx.spec, str(training) if training else None, items, interactions)


def validation_set(ctx: UseCaseContext, prepared: PreparedTrainingSet) -> ValidationSet:
    """The validation split as items; checkpoints are chosen on it, so it may not be empty."""
    spec = ctx.spec.fine_tuning
    _, held_out = split_examples(
        prepared.report.examples, validation_share=spec.validation_share, seed=spec.seed
    )
    items = validation_items(held_out)
    if not items:
        raise SpecError(
            f"{ctx.use_case.spec_path}: fine_tuning.validation_share: {spec.validation_share} "
            "leaves no validation examples; checkpoints are chosen on them"
        )
    return ValidationSet(items=items, set_hash=prepared.validation_file_hash or "")


def search_runs(settings: FineTuningSettings) -> list[FineTuningSettings]:
    """One settings per job: the search's points, or the spec's own settings."""
    if settings.search is None:
        return [settings]
    return [
        settings.model_copy(update={"n_epochs": epochs, "learning_rate_multiplier": lr})
        for epochs, lr in settings.search.points()
    ]


def _log_prepared(use_case: str, prepared: PreparedTrainingSet) -> None:
    """Log what the training set holds after validation and the split."""
    report = prepared.report
    get_run_logger().info(
        "%s: %d clean examples (%d errors, %d duplicates), %d train / %d validation",
        use_case,
        len(report.examples),
        len(report.errors),
        len(report.duplicates),
        prepared.train_examples,
        prepared.validation_examples,
    )


def _tune(
    ctx: UseCaseContext, prepared: PreparedTrainingSet, base_model: str, poll_interval: float
) -> list[JobOutcome]:
    """Run the job (or the search's jobs); raise TrainingJobFailed naming any that failed."""
    runs = search_runs(ctx.spec.fine_tuning)
    outcomes = run_fine_tune_jobs(
        prepared,
        runs,
        base_model,
        ctx.trainer,
        poll_interval,
        ctx.settings.training_timeout,
        store_url=ctx.store_url,
    )
    failed = [o for o in outcomes if o.status != "succeeded" or not o.fine_tuned_model]
    if failed:
        causes = "; ".join(o.cause for o in failed)
        raise TrainingJobFailed(f"{len(failed)} of {len(outcomes)} jobs did not succeed: {causes}")
    return outcomes


@flow(name="build-fine-tuning", flow_run_name=build_fine_tuning_run_name)
def build_fine_tuning(
    use_case: str,
    use_cache: bool = True,
    poll_interval: float = 2.0,
    base_model: str | None = None,
) -> Candidate | NotBuilt:
    """Fine-tune on the use case's clean examples, keep the best checkpoint, score it.

    `base_model` (a retirement's successor) replaces the spec's; such a re-tune runs no pilot:
    the pilot asks for a gain over the active configuration, a successor only has to keep it.
    """
    ctx = UseCaseContext.load(use_case)
    prepared = prepare(ctx)
    _log_prepared(use_case, prepared)
    settings = ctx.spec.fine_tuning
    retune = base_model is not None
    base_model = base_model or settings.base_model or ctx.model
    validation = validation_set(ctx, prepared)
    variant = tuned_variant(ctx.spec.prompts)
    gates, spent = [], []
    if settings.pilot is not None and not retune:
        pilot, pilot_job = run_pilot(
            ctx, prepared, validation, variant, base_model=base_model, poll_interval=poll_interval
        )
        if pilot.status != PASS:
            return NotBuilt(gates=[pilot], reason=pilot.detail)
        gates.append(pilot)
        spent.append(pilot_job)
    outcomes = _tune(ctx, prepared, base_model, poll_interval)
    scores = score_checkpoints(ctx, outcomes, validation, variant)
    chosen = best_checkpoint(scores)
    # Every job paid for counts: the pilot's and the search's are part of this move's cost.
    price = ctx.settings.price_for(base_model)
    spend = job_costs(
        [*spent, *outcomes], price.training_per_m if price else None, prepared.report.total_tokens
    )
    gates.append(selection_gate(scores, chosen, ctx.spec.metric, spend))
    return _candidate(ctx, prepared, outcomes, chosen, gates, spend, use_cache=use_cache)


def _candidate(
    ctx: UseCaseContext,
    prepared: PreparedTrainingSet,
    jobs: list[JobOutcome],
    chosen: CheckpointScore,
    gates: list[GateResult],
    spend: dict[str, Any],
    *,
    use_cache: bool,
) -> Candidate:
    """Register the chosen checkpoint as a model version, score it on the eval set."""
    job = next(j for j in jobs if j.id == chosen.job_id)
    base_model = job.model
    version, config = ctx.store.save_tuned_configuration(
        ctx.name,
        {
            "model_id": chosen.model,
            "base_model": base_model,
            "training_file_id": job.training_file,
            "training_file_hash": prepared.training_file_hash,
            "job_id": job.id,
            "hyperparameters": job.hyperparameters | {"checkpoint_epoch": chosen.epoch},
            "checkpoints": [c.model_dump(mode="json") for c in job.checkpoints],
            "metrics": next(
                (c.metrics for c in job.checkpoints if c.step_number == chosen.step), job.metrics
            ),
        },
        tuned_variant(ctx.spec.prompts),
        ConfigurationDraft(phase=Phase.FINE_TUNING, model=chosen.model, **ctx.output_settings),
    )
    run = score_configuration(ctx, config, use_cache=use_cache)
    get_run_logger().info("%s: tuned model %s scored %.3f", ctx.name, chosen.model, run.mean)
    return Candidate(
        phase=Phase.FINE_TUNING,
        configuration_id=config.id,
        eval_run=run,
        gate_results=gates,
        evidence={
            "job_id": job.id,
            "jobs": [j["job_id"] for j in spend["jobs"]],
            "trainer": ctx.spec.fine_tuning.trainer,
            "model_version_id": version.id,
            "checkpoint": chosen.model,
            "clean_examples": len(prepared.report.examples),
            "training_errors": len(prepared.report.errors),
            "duplicates": len(prepared.report.duplicates),
            "trained_tokens": spend["trained_tokens"],
            "training_cost_usd": spend["training_cost_usd"],
        },
    )
