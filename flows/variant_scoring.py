"""Prepare and score a prompt variant: what a check and `phasegate eval` share.

The few-shot rule, the response cache, the price, the judge guardrail and the error-rate
limit are the same wherever a score comes from. Plain on purpose: `phasegate eval` scores
through `score_prepared` without importing Prefect; a flow scores through flows/scoring.py,
which runs the same steps as Prefect tasks.
"""

from collections.abc import Callable
from typing import Any

from flows.use_case_context import UseCaseContext
from state.domain import EvalItem, EvalRun
from state.errors import SpecError
from state.spec import PromptVariant
from tasks.eval_sets import load_examples, normalise_input
from tasks.evaluation import EvalTarget, PreparedRequest, evaluate, output_fields
from tasks.judging import grade_answers, judge_guardrail
from tasks.llm_batch import BatchOptions
from tasks.prompts import Passage, build_messages

Grader = Callable[..., dict[str, float]]


def few_shot_examples(
    ctx: UseCaseContext, variant: PromptVariant, items: list[EvalItem]
) -> list[tuple[str, str]]:
    """A few-shot variant's examples: k training pairs that are no eval input; none otherwise.

    A few-shot prompt needs `data.training`: without it, a SpecError naming the prompt.
    """
    if variant.kind != "few_shot":
        return []
    training = ctx.data_path("training")
    if training is None:
        where = f"{ctx.use_case.spec_path}: prompts.{variant.name}"
        raise SpecError(f"{where}: few-shot needs data.training")
    return load_examples(training, variant.k, {normalise_input(item.input) for item in items})


def prepare_variant(
    ctx: UseCaseContext,
    variant: PromptVariant,
    model: str,
    items: list[EvalItem],
    *,
    passages: list[list[Passage]] | None = None,
    output: dict[str, Any] | None = None,
) -> list[PreparedRequest]:
    """Render every item's messages for a prompt variant and model: examples, passages.

    `output`: the generation and answer settings (`output_fields`); the spec's by default.
    """
    examples = few_shot_examples(ctx, variant, items)
    passages = passages or [[] for _ in items]
    if output is None:
        output = output_fields(ctx.spec.generation, ctx.spec.answers)
    return [
        PreparedRequest(
            item_id=item.id,
            model=model,
            messages=build_messages(variant, item.input, examples=examples, passages=found),
            prompt_kind=variant.kind,
            **output,
        )
        for item, found in zip(items, passages, strict=True)
    ]


def scoring_options(
    ctx: UseCaseContext, model: str, *, use_cache: bool, batch: bool | None
) -> dict[str, Any]:
    """The use case's scoring options for `model`: store, judge, price, error-rate limit, and
    the Batch API when `batch` (None: the spec's `eval.mode`) asks for it."""
    by_batch = ctx.spec.eval.mode == "batch" if batch is None else batch
    return {
        "store_url": ctx.store_url,
        "use_cache": use_cache,
        "judge_model": ctx.settings.judge_model,
        "price": ctx.settings.price_for(model),
        "max_error_rate": ctx.spec.gates.max_error_rate,
        "batch_api": BatchOptions.of(ctx.spec.eval) if by_batch else None,
    }


def grade_guardrail(
    ctx: UseCaseContext, items: list[EvalItem], run: EvalRun, grade: Grader = grade_answers
) -> EvalRun:
    """The run with its judge guardrail's grades (`extra.judge_scores`), if the spec has one.

    An invalid run is no measurement: its answers are not worth grading.
    """
    if not run.valid or (judged := judge_guardrail(ctx.spec)) is None:
        return run
    grades = grade(items, run, ctx.provider, ctx.settings.judge_model, judged.rubric)
    return run.model_copy(update={"extra": (run.extra or {}) | {"judge_scores": grades}})


def score_prepared(
    ctx: UseCaseContext,
    requests: list[PreparedRequest],
    items: list[EvalItem],
    target: EvalTarget,
    *,
    model: str,
    use_cache: bool = True,
    batch: bool | None = None,
    on_done: Callable[[int], None] | None = None,
) -> EvalRun:
    """Score prepared requests as every check does, and grade them for a judge guardrail.

    `batch` answers through the Batch API (None: the spec's `eval.mode`); `on_done(i)` is
    called as each call finishes (`phasegate eval`'s bar). A run that is no measurement comes
    back with its `invalid_reason` set, ungraded.
    """
    options = scoring_options(ctx, model, use_cache=use_cache, batch=batch)
    run = evaluate(requests, items, target, ctx.provider, on_done=on_done, **options)
    return grade_guardrail(ctx, items, run)
