"""Checkpoints chosen on the validation split: score each one, keep the best.

Every checkpoint of every job is stored as a configuration and scored on the validation split
(purpose `validation`) — never on the eval set, which only the chosen one meets, as the
candidate. A tie goes to the earlier checkpoint: as good, with less training behind it.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from flows.context import UseCaseContext
from flows.scoring import score_set
from state.domain import ConfigurationDraft, EvalItem, GateResult
from state.phases import Phase
from state.spec import PromptVariant
from tasks.gates.registry import CHECKPOINT_SELECTION
from tasks.gates.results import PASS
from tasks.trainer_jobs import JobOutcome

VALIDATION = "validation"


class ValidationSet(BaseModel):
    """The validation split's items and the hash their runs are stored under."""

    model_config = ConfigDict(frozen=True)

    items: list[EvalItem]
    set_hash: str


class CheckpointScore(BaseModel):
    """One checkpoint's score on the validation split."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    epoch: int
    step: int
    model: str
    n_epochs: int | None
    learning_rate_multiplier: float | None
    configuration_id: int
    eval_run_id: int
    mean: float
    ci_low: float
    ci_high: float
    n: int


def checkpoints_of(outcome: JobOutcome) -> list[tuple[int, int, str]]:
    """(epoch, step, model) of a succeeded job's checkpoints; the tuned model without any."""
    if outcome.checkpoints:
        return [(n, c.step_number, c.model) for n, c in enumerate(outcome.checkpoints, start=1)]
    epochs = int(outcome.hyperparameters.get("n_epochs") or 1)
    return [(epochs, 0, outcome.fine_tuned_model or "")]


def score_checkpoints(
    ctx: UseCaseContext,
    outcomes: list[JobOutcome],
    validation: ValidationSet,
    variant: PromptVariant,
) -> list[CheckpointScore]:
    """Score every checkpoint of these jobs on the validation split, in job and epoch order."""
    scores = []
    for outcome in outcomes:
        hyper = outcome.hyperparameters
        for epoch, step, model in checkpoints_of(outcome):
            _, config = ctx.store.save_prompted_configuration(
                ctx.name,
                variant,
                ConfigurationDraft(phase=Phase.FINE_TUNING, model=model, **ctx.output_settings),
            )
            run = score_set(ctx, config, validation.items, validation.set_hash, purpose=VALIDATION)
            scores.append(
                CheckpointScore(
                    job_id=outcome.id,
                    epoch=epoch,
                    step=step,
                    model=model,
                    n_epochs=hyper.get("n_epochs"),
                    learning_rate_multiplier=hyper.get("learning_rate_multiplier"),
                    configuration_id=config.id,
                    eval_run_id=run.id,
                    mean=run.mean,
                    ci_low=run.ci_low,
                    ci_high=run.ci_high,
                    n=run.n,
                )
            )
    return scores


def best_checkpoint(scores: list[CheckpointScore]) -> CheckpointScore:
    """The highest validation mean; a tie goes to the earlier checkpoint (listed first)."""
    return max(enumerate(scores), key=lambda pair: (pair[1].mean, -pair[0]))[1]


def job_costs(
    outcomes: list[JobOutcome], price_per_m: float | None, per_epoch: int
) -> dict[str, Any]:
    """What the jobs trained and cost: each job's tokens, their sum and its price."""
    jobs = [
        {
            "job_id": o.id,
            "n_epochs": o.hyperparameters.get("n_epochs"),
            "learning_rate_multiplier": o.hyperparameters.get("learning_rate_multiplier"),
            # A provider that reports no trained tokens: the file's tokens times the epochs.
            "trained_tokens": o.trained_tokens or per_epoch * int(o.hyperparameters["n_epochs"]),
        }
        for o in outcomes
    ]
    total = sum(job["trained_tokens"] for job in jobs)
    cost = total * price_per_m / 1_000_000 if price_per_m is not None else None
    return {"jobs": jobs, "trained_tokens": total, "training_cost_usd": cost}


def selection_gate(
    scores: list[CheckpointScore], chosen: CheckpointScore, metric: str, spend: dict[str, Any]
) -> GateResult:
    """The `checkpoint_selection` check: every checkpoint's validation score, the choice, and
    what the jobs behind them cost."""
    cost = spend["training_cost_usd"]
    paid = f"{len(spend['jobs'])} job(s), {spend['trained_tokens']:,} trained tokens" + (
        f" (${cost:.2f})" if cost is not None else ""
    )
    listed = ", ".join(
        f"{s.job_id[-8:]} epoch {s.epoch}: {s.mean:.3f}" + (" (chosen)" if s == chosen else "")
        for s in scores
    )
    return CHECKPOINT_SELECTION.result(
        PASS,
        f"best of {len(scores)} checkpoints on {chosen.n} validation items by {metric}: "
        f"{chosen.model} ({chosen.mean:.3f}); {listed}; {paid}",
        observed=chosen.mean,
        chosen=chosen.model_dump(),
        checkpoints=[s.model_dump() for s in scores],
        **spend,
    )


def tuned_variant(prompts: list[PromptVariant]) -> PromptVariant:
    """The prompt a tuned model is called with: the spec's first zero-shot variant."""
    first = next((p for p in prompts if p.kind == "zero_shot"), prompts[0])
    return first.model_copy(update={"kind": "zero_shot"})
