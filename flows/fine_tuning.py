"""The fine-tuning phase: build and validate the training set, tune, register, score."""

from prefect import flow, get_run_logger

from flows.context import UseCaseContext
from flows.labels import build_fine_tuning_run_name
from flows.results import Candidate
from flows.scoring import score_configuration
from state.domain import ConfigurationDraft
from state.errors import SpecError, TrainingJobFailed
from state.phases import Phase
from state.spec import PromptVariant, UseCaseSpec
from tasks.trainer import run_fine_tune_job
from tasks.training_data import PreparedTrainingSet, prepare_training_set


def tuned_prompt(spec: UseCaseSpec) -> PromptVariant:
    """The prompt a tuned model is called with: the spec's first zero-shot variant."""
    first = next((p for p in spec.prompts if p.kind == "zero_shot"), spec.prompts[0])
    return first.model_copy(update={"kind": "zero_shot"})


def prepare(ctx: UseCaseContext) -> PreparedTrainingSet:
    """Validate, de-duplicate, leakage-check and split the training data of a use case."""
    training = ctx.data_path("training")
    interactions = ctx.store.list_labelled_interactions(ctx.name)
    if training is None and not interactions:
        raise SpecError(f"{ctx.use_case.spec_path}: data.training: no training data")
    items, _ = ctx.eval_set
    return prepare_training_set(ctx.spec, str(training) if training else None, items, interactions)


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


@flow(name="build-fine-tuning", flow_run_name=build_fine_tuning_run_name)
def build_fine_tuning(
    use_case: str, use_cache: bool = True, poll_interval: float = 2.0
) -> Candidate:
    """Fine-tune the base model on the use case's clean examples and score the tuned model."""
    logger = get_run_logger()
    ctx = UseCaseContext.load(use_case)
    prepared = prepare(ctx)
    report = prepared.report
    _log_prepared(use_case, prepared)
    settings = ctx.spec.fine_tuning
    base_model = settings.base_model or ctx.model
    outcome = run_fine_tune_job(prepared, settings, base_model, ctx.provider, poll_interval)
    if outcome.status != "succeeded" or not outcome.fine_tuned_model:
        error = outcome.error
        detail = f"{error.code}: {error.message}" if error else outcome.status
        raise TrainingJobFailed(f"fine-tuning job {outcome.id} {outcome.status} ({detail})")
    version, config = ctx.store.save_tuned_configuration(
        use_case,
        {
            "model_id": outcome.fine_tuned_model,
            "base_model": base_model,
            "training_file_id": outcome.training_file,
            "training_file_hash": prepared.training_file_hash,
            "job_id": outcome.id,
            "hyperparameters": outcome.hyperparameters,
            "checkpoints": [c.model_dump(mode="json") for c in outcome.checkpoints],
            "metrics": outcome.metrics,
        },
        tuned_prompt(ctx.spec),
        ConfigurationDraft(
            phase=Phase.FINE_TUNING, model=outcome.fine_tuned_model, **ctx.output_settings
        ),
    )
    run = score_configuration(ctx, config, use_cache=use_cache)
    logger.info("%s: tuned model %s scored %.3f", use_case, outcome.fine_tuned_model, run.mean)
    trained = outcome.trained_tokens or report.total_tokens * settings.n_epochs
    return Candidate(
        phase=Phase.FINE_TUNING,
        configuration_id=config.id,
        eval_run=run,
        evidence={
            "job_id": outcome.id,
            "model_version_id": version.id,
            "clean_examples": len(report.examples),
            "training_errors": len(report.errors),
            "duplicates": len(report.duplicates),
            "trained_tokens": trained,
        },
    )
