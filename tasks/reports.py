"""The gate report: a markdown table of every check, published as a Prefect artifact."""

from collections.abc import Sequence

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from state.domain import EvalRun, GateResult
from state.phases import GateStatus

ICONS = {
    GateStatus.PASS: "✅ pass",
    GateStatus.FAIL: "❌ fail",
    GateStatus.INCONCLUSIVE: "❔ inconclusive",
}


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def _run_line(label: str, run: EvalRun | None) -> str:
    if run is None:
        return f"- **{label}**: not measured"
    return (
        f"- **{label}**: configuration #{run.configuration_id}, eval run #{run.id}: "
        f"{run.metric} {run.mean:.3f} [{run.ci_low:.3f}, {run.ci_high:.3f}] on {run.n} items, "
        f"p95 {run.latency_p95_ms:.0f} ms, "
        f"{run.prompt_tokens_per_query + run.completion_tokens_per_query:.0f} tokens/query"
    )


def gate_report(
    use_case: str,
    transition: str,
    results: Sequence[GateResult],
    *,
    active: EvalRun | None,
    candidate: EvalRun | None,
    outcome: str,
) -> str:
    """The markdown gate report of one check."""
    lines = [
        f"# Gate report: {use_case} — {transition.replace('_to_', ' → ')}",
        "",
        f"**Outcome:** {outcome}",
        "",
        _run_line("active", active),
        _run_line("candidate", candidate),
        "",
        "| stage | check | status | observed | threshold | detail |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        detail = result.detail.replace("|", "\\|")
        lines.append(
            f"| {result.stage} | `{result.check}` | {ICONS[result.status]} | "
            f"{_number(result.observed)} | {_number(result.threshold)} | {detail} |"
        )
    return "\n".join(lines) + "\n"


def publish_gate_report(use_case: str, markdown: str) -> str:
    """Publish the report as the use case's gate-report artifact; returns the artifact key."""
    key = f"gate-report-{use_case}"
    create_markdown_artifact(markdown=markdown, key=key, description=f"Gate report of {use_case}")
    return key


def eval_table(run: EvalRun) -> list[dict[str, object]]:
    """One row per eval item: score, output, latency, tokens, error."""
    return [
        {
            "item": result.item_id,
            "score": result.score,
            "output": result.output[:200],
            "latency_ms": round(result.latency_ms, 1),
            "tokens": result.prompt_tokens + result.completion_tokens,
            "error": result.error or "",
        }
        for result in run.results
    ]


def publish_eval_table(run: EvalRun) -> str:
    """Publish an eval run's per-item results as a table artifact; returns its key."""
    key = f"eval-{run.use_case}"
    create_table_artifact(
        table=eval_table(run),
        key=key,
        description=(
            f"Eval run #{run.id} of configuration #{run.configuration_id}: {run.metric} "
            f"{run.mean:.3f} [{run.ci_low:.3f}, {run.ci_high:.3f}] on {run.n} items"
        ),
    )
    return key
