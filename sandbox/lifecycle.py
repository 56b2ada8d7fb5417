"""Lazy progress of fine-tuning jobs: validation, epochs, checkpoints, success, cancel."""

from __future__ import annotations

import math
import time

from sandbox.config import SandboxConfig
from sandbox.fine_tuning import TERMINAL, FileStore, Job
from sandbox.reader import TunedModel
from sandbox.text import unit_share
from sandbox.training import (
    TrainingFileError,
    epoch_metrics,
    example_tokens,
    overfit_share,
    read_examples,
)
from sandbox.training import to_pair as _to_pair

#: Shares of ``job_seconds`` at which validation and queueing end; running ends at 1.0.
VALIDATED_AT, STARTED_AT = 0.2, 0.4
AUTO_EPOCHS = 3


def _validate(job: Job, files: FileStore, config: SandboxConfig) -> None:
    """Read and check the job's files, resolve hyperparameters and compute epoch metrics."""
    train = _read(files, job.training_file, "training_file")
    valid = _read(files, job.validation_file, "validation_file") if job.validation_file else None
    hp = job.hyperparameters
    if hp["n_epochs"] == "auto":
        hp["n_epochs"] = AUTO_EPOCHS
    if hp["batch_size"] == "auto":
        hp["batch_size"] = max(1, min(8, len(train) // 10))
    if hp["learning_rate_multiplier"] == "auto":
        hp["learning_rate_multiplier"] = 1.0
    job.train_examples = train
    job.plan = epoch_metrics(
        train,
        valid,
        base=job.base,
        n_epochs=hp["n_epochs"],
        batch_size=hp["batch_size"],
        thresholds=(config.tuned_threshold, config.answer_threshold),
        sample=config.metrics_sample,
        overfit=_overfit(job, config),
    )


def _overfit(job: Job, config: SandboxConfig) -> tuple[float, float, float]:
    """(learning-rate multiplier, lr-weighted epochs taken unharmed, share confused past them)."""
    lr = job.hyperparameters["learning_rate_multiplier"]
    return (lr, config.overfit_after, config.overfit_rate)


def _read(files: FileStore, file_id: str, param: str) -> list:
    """Validated examples of a stored file, tagging errors with the parameter name."""
    stored = files.files.get(file_id)
    if stored is None:
        raise TrainingFileError(f"{param} {file_id} no longer exists").with_param(param)
    try:
        return read_examples(stored.data)
    except TrainingFileError as exc:
        raise exc.with_param(param) from None


def refresh(
    job: Job,
    files: FileStore,
    models: dict[str, TunedModel],
    config: SandboxConfig,
    now: float | None = None,
) -> None:
    """Advance ``job`` to the state it has at ``now`` (validating -> queued -> running -> done)."""
    if job.status in TERMINAL:
        return
    now = time.time() if now is None else now
    t0, span = job.created, job.duration
    if job.plan is None:
        if now < t0 + VALIDATED_AT * span:
            return
        at = t0 + VALIDATED_AT * span
        try:
            _validate(job, files, config)
        except TrainingFileError as exc:
            param = exc.param
            code = f"invalid_{param}"
            job.status, job.finished_at = "failed", int(at)
            job.error = {"code": code, "message": str(exc), "param": param}
            job.event(at, f"Job failed: {exc}", level="error")
            return
        job.status = "queued"
        job.event(at, "Files validated, moving job to queued state")
        job.event(at, "Job queued")
    if now < t0 + STARTED_AT * span:
        return
    if job.status == "queued":
        job.status = "running"
        job.event(t0 + STARTED_AT * span, "Fine-tuning job started")
        # An injected fault: this share of jobs (by a hash of the id) fails once it runs.
        if unit_share(f"fail\n{job.id}") < config.job_failure_share:
            _fail(job, t0 + STARTED_AT * span)
            return
    _emit_epochs(job, now)
    if now >= t0 + span:
        _succeed(job, files, models, _overfit(job, config))


def _fail(job: Job, at: float) -> None:
    """End a running job as failed with the provider's internal error."""
    message = "The job failed due to an internal error."
    job.status, job.finished_at = "failed", int(at)
    job.error = {"code": "server_error", "message": message, "param": None}
    job.event(at, f"Job failed: {message}", level="error")


def _emit_epochs(job: Job, now: float) -> None:
    """Add the metrics event and checkpoint of every epoch finished by ``now``."""
    plan = job.plan or []
    run_start, run_span = job.created + STARTED_AT * job.duration, (1 - STARTED_AT) * job.duration
    for metrics in plan[len(job.checkpoints) :]:
        at = run_start + run_span * metrics.epoch / len(plan)
        if now < at:
            break
        total = plan[-1].step
        job.event(
            at,
            f"Step {metrics.step}/{total}: training loss={metrics.train_loss:.4f}",
            data={**metrics.as_dict(), "total_steps": total},
            kind="metrics",
        )
        job.checkpoints.append(
            {
                "id": f"ftckpt-{job.short}{metrics.epoch:04d}",
                "object": "fine_tuning.job.checkpoint",
                "created_at": int(at),
                "fine_tuning_job_id": job.id,
                "step_number": metrics.step,
                "fine_tuned_model_checkpoint": f"{_model_name(job)}:ckpt-step-{metrics.step}",
                "metrics": metrics.as_dict(),
            }
        )


def _model_name(job: Job) -> str:
    """``ft:<base>:<suffix or sandbox>:<job-id-short>``."""
    return f"ft:{job.base}:{job.suffix or 'sandbox'}:{job.short}"


def _succeed(
    job: Job,
    files: FileStore,
    models: dict[str, TunedModel],
    overfit: tuple[float, float, float],
) -> None:
    """Register the tuned model and its checkpoints, write the result file, finish the job.

    Checkpoint k knows the training pairs of the first k epochs' share and confuses answers as
    `overfit_share` says; the tuned model is the last checkpoint.
    """
    at = job.created + job.duration
    pairs = job.parent_pairs + tuple(_to_pair(m) for m in job.train_examples)
    name = _model_name(job)
    plan = job.plan or []
    for metrics, ckpt in zip(plan, job.checkpoints, strict=True):
        share = math.ceil(len(job.train_examples) * metrics.epoch / len(plan))
        seen = pairs[: len(job.parent_pairs) + share]
        ckpt_id = ckpt["fine_tuned_model_checkpoint"]
        confused = overfit_share(metrics.epoch, *overfit)
        models[ckpt_id] = TunedModel(
            ckpt_id, job.base, seen, int(at), job.id, checkpoint=True, overfit=confused
        )
    last = overfit_share(len(plan), *overfit)
    models[name] = TunedModel(name, job.base, pairs, int(at), job.id, overfit=last)
    rows = ["step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy"]
    rows += [
        f"{m.step},{m.train_loss},{m.train_mean_token_accuracy},{m.valid_loss},"
        f"{m.valid_mean_token_accuracy}"
        for m in plan
    ]
    result = files.add("step_metrics.csv", "fine-tune-results", ("\n".join(rows) + "\n").encode())
    job.result_files = [result.id]
    job.trained_tokens = job.hyperparameters["n_epochs"] * sum(
        example_tokens(m) for m in job.train_examples
    )
    job.status, job.fine_tuned_model, job.finished_at = "succeeded", name, int(at)
    job.event(at, f"New fine-tuned model created: {name}")
    job.event(at, "Job completed: the job has successfully completed")


def cancel(job: Job, now: float | None = None) -> None:
    """Cancel a non-terminal job (the caller refreshes it first)."""
    now = time.time() if now is None else now
    job.status, job.finished_at = "cancelled", int(now)
    job.event(now, "Job cancelled")
