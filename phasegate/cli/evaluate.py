"""`phasegate eval`: score one prompt variant of a use case on its eval set and show the run."""

from __future__ import annotations

import atexit
import gc
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from phasegate.cli.app import AsJson, app, console, print_json, store
from state.errors import InputError, OutcomeRefused

if TYPE_CHECKING:
    from flows.use_case_context import UseCaseContext
    from state.domain import EvalRun
    from state.spec import PromptVariant, UseCaseSpec
    from tasks.guardrail_metrics import MetricSummary

SHOWN_ERRORS = 3


def _variant(spec: UseCaseSpec, path: str, name: str | None) -> PromptVariant:
    """The prompt variant called `name`, or the spec's first."""
    variants = {variant.name: variant for variant in spec.prompts}
    if name is None:
        return spec.prompts[0]
    if name not in variants:
        raise InputError(f"--prompt: no prompt {name!r} in {path} ({', '.join(variants)})")
    return variants[name]


def _check_options(model: str | None, fail_under: float | None, lower_bound: bool) -> None:
    """Refuse options that could never mean what they say, before anything is read or run."""
    if model is not None and not model.strip():
        raise InputError("--model: must not be empty")
    if lower_bound and fail_under is None:
        raise InputError("--lower-bound: compares against --fail-under, which is not given")
    # Every primary metric scores in [0, 1]; NaN compares false, so the gate could never fail.
    if fail_under is not None and not 0 <= fail_under <= 1:
        raise InputError(f"--fail-under: must be a number from 0 to 1 (got {fail_under})")


def _metric_row(summary: MetricSummary) -> tuple[str, str]:
    """One guardrail metric: its mean and interval over the items that have a value."""
    label = f"{summary.name} ({summary.direction} is better)"
    if summary.mean is None:
        return label, "no item has a value"
    return label, (
        f"{summary.mean:.4g}  [{summary.ci_low:.4g}, {summary.ci_high:.4g}] 95% CI, n={summary.n:,}"
    )


def _table(run: EvalRun, title: str, guardrails: list[MetricSummary]) -> Table:
    """The figures of one eval run as a two-column table, every metric with its interval."""
    cost = "unknown price" if run.cost_per_query is None else f"${run.cost_per_query:.6f}"
    rows = [
        ("examples", f"{run.n:,}"),
        (run.metric, f"{run.mean:.3f}  [{run.ci_low:.3f}, {run.ci_high:.3f}] 95% CI"),
        *(_metric_row(summary) for summary in guardrails),
        ("error rate", f"{run.error_rate:.1%}"),
        ("latency p50 / p95", f"{run.latency_p50_ms:,.0f} / {run.latency_p95_ms:,.0f} ms"),
        (
            "tokens per query",
            f"{run.prompt_tokens_per_query:,.1f} in / {run.completion_tokens_per_query:,.1f} out",
        ),
        ("cost per query", cost),
        ("provider calls", f"{run.provider_calls:,} ({run.retries:,} retries)"),
    ]
    if batch_ids := (run.extra or {}).get("batch_ids"):
        rows.append(
            ("Batch API", f"{len(batch_ids)} batch(es), batch price: {', '.join(batch_ids)}")
        )
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for row in rows:
        table.add_row(*row)
    return table


@app.command("eval")
def eval_command(
    use_case: Annotated[str, typer.Argument(help="a registered use case")],
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="prompt variant name (default: the first)")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="model (default: the spec's, else settings')")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="call the provider even for cached answers")
    ] = False,
    fail_under: Annotated[
        float | None, typer.Option("--fail-under", help="exit 4 when the mean is below this")
    ] = None,
    lower_bound: Annotated[
        bool,
        typer.Option("--lower-bound", help="--fail-under reads the 95% interval's lower bound"),
    ] = False,
    batch: Annotated[
        bool | None,
        typer.Option(
            "--batch/--online",
            help="answer through the provider's Batch API at its price, or online "
            "(default: the spec's eval.mode)",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Score a prompt variant of a use case on its eval set, record the run and show it."""
    # At exit, Python's collector walks every object it tracks (≈ 160,000 here: the SDK's, the
    # store's and the spec's models) for cycles, 0.3-0.5 s after the result is shown, to free
    # memory the process gives back anyway. Frozen objects are skipped; the store's writes are
    # committed by then, and atexit handlers (log flushing) still run before.
    atexit.register(gc.freeze)
    # Imported here: the scoring stack (the openai SDK, the store) costs what other commands
    # need not pay. It imports no Prefect (tests/phasegate/test_cli_imports.py).
    from flows.use_case_context import UseCaseContext
    from tasks.evaluation import require_valid
    from tasks.guardrail_metrics import summarise_metrics

    _check_options(model, fail_under, lower_bound)
    ctx = UseCaseContext.load(use_case)
    variant = _variant(ctx.spec, ctx.use_case.spec_path, prompt)
    chosen = model or ctx.model
    title = f"{use_case} · {variant.name} · {chosen}"
    run = _score(ctx, variant, chosen, title, use_cache=not no_cache, batch=batch)
    extra = (run.extra or {}) | {"prompt": variant.name, "kind": variant.kind, "model": chosen}
    run = store().record_eval_run(run.model_copy(update={"extra": extra}))
    metrics = summarise_metrics(run, ctx.spec.guardrails, ctx.settings.price_for(chosen))
    refused = _show(run, title, metrics[1:], fail_under, lower_bound, as_json)
    require_valid(run)  # stored for diagnosis, but no measurement: MeasurementInvalid, exit 3
    if refused:
        raise OutcomeRefused(refused)


def _score(
    ctx: UseCaseContext,
    variant: PromptVariant,
    model: str,
    title: str,
    *,
    use_cache: bool,
    batch: bool | None,
) -> EvalRun:
    """Prepare and score the variant as a check does, with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.variant_scoring import prepare_variant, score_prepared
    from tasks.evaluation import EvalTarget

    items, eval_set_hash = ctx.eval_set
    requests = prepare_variant(ctx, variant, model, items)
    metric = ctx.spec.metric
    target = EvalTarget(
        use_case=ctx.name, eval_set_hash=eval_set_hash, metric=metric, purpose="cli"
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # The bar goes to stderr: stdout holds the result alone (one JSON document with --json).
    shown = Console(stderr=True)
    with Progress(*columns, TimeElapsedColumn(), console=shown, transient=True) as progress:
        total = len(requests) * (2 if metric == "llm_judge" else 1)
        bar = progress.add_task(title, total=total)
        return score_prepared(
            ctx,
            requests,
            items,
            target,
            model=model,
            use_cache=use_cache,
            batch=batch,
            on_done=lambda _: progress.advance(bar),
        )


def _show(
    run: EvalRun,
    title: str,
    guardrails: list[MetricSummary],
    fail_under: float | None,
    lower_bound: bool,
    as_json: bool,
) -> str | None:
    """Print a recorded run; say why it is refused when it falls under --fail-under."""
    errors = list(dict.fromkeys(r.error for r in run.results if r.error))
    compared = "ci_low" if lower_bound else "mean"
    figure = run.ci_low if lower_bound else run.mean
    failed = fail_under is not None and figure < fail_under
    if as_json:
        from phasegate.cli import outputs, records  # the JSON schemas: only --json needs them

        extra = run.extra or {}
        own = {"eval_run_id", "prompt", "model", "errors", "guardrails", "fail_under", "compared"}
        own |= {"transport", "batch_ids"}
        fields = set(outputs.EvalOutput.model_fields) - own
        print_json(
            outputs.EvalOutput(
                **run.model_dump(include=fields),
                eval_run_id=run.id,
                transport=extra.get("transport", "online"),
                batch_ids=extra.get("batch_ids", []),
                prompt=extra.get("prompt", ""),
                model=extra.get("model", ""),
                errors=errors,
                guardrails=[records.MetricFigure(**g.model_dump()) for g in guardrails],
                fail_under=fail_under,
                compared=compared,
                failed_under=failed,
            )
        )
    else:
        console.print(_table(run, f"eval run {run.id}: {title}", guardrails))
        for error in errors[:SHOWN_ERRORS]:
            console.print(f"error: {error}", style="yellow", soft_wrap=True)
    if not failed:
        return None
    return f"eval run {run.id}: {compared} {figure:.3f} is below {fail_under}"
