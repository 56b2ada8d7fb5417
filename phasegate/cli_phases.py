"""CLI commands that run flows: check, approve/reject, build, report, prompts, sandbox."""

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from phasegate.context import store_session
from phasegate.report_html import ReportData, render_report
from phasegate.views import history_table
from state import store
from state.approvals import pending_approvals
from state.errors import ApprovalError
from state.evals import get_eval_run
from state.phases import Phase
from state.prompt_library import find_prompt_version, list_prompt_versions

console = Console()
prompts_app = typer.Typer(help="The prompt library of a use case.", no_args_is_help=True)


def check_command(
    use_case: Annotated[str, typer.Argument(help="a registered use case")],
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="approve moves whose gates all pass")
    ] = False,
) -> None:
    """Run the phase check of a use case now and show its decision."""
    from flows.phase_check import check_phase

    with store_session() as session:
        store.require_use_case(use_case, session=session)
    state = check_phase(use_case, auto_approve=auto_approve, return_state=True)
    if state.is_failed():
        with store_session() as session:
            last = store.list_decisions(use_case, session=session, limit=1)
        if last and last[-1].kind == "expired":
            console.print(history_table(use_case, last))
            raise typer.Exit(1)
        state.result()
    outcome = state.result()
    with store_session() as session:
        decisions = store.list_decisions(use_case, session=session, limit=1)
    console.print(history_table(use_case, decisions))
    console.print(f"[bold]{outcome.decision}[/]: {outcome.reason}")


def monitor_command(
    use_case: Annotated[str | None, typer.Argument(help="one use case (default: all)")] = None,
) -> None:
    """Re-score active configurations now and roll back the ones that regressed."""
    from flows.monitoring import monitor

    if use_case is not None:
        with store_session() as session:
            store.require_use_case(use_case, session=session)
    for name, outcome in monitor(use_case).items():
        console.print(f"[bold]{name}[/]: {outcome.status} — {outcome.reason}")


def hybrid_command(use_case: str) -> None:
    """Build, score and gate the hybrid (tuned model + RAG fallback) of a tuned use case."""
    from flows.hybrid import check_hybrid

    with store_session() as session:
        store.require_use_case(use_case, session=session)
    outcome = check_hybrid(use_case)
    console.print(f"[bold]{outcome.decision}[/]: {outcome.reason}")


def _answer(use_case: str, approve: bool, reason: str, approver: str, wait: float) -> None:
    from tasks.approvals import give_answer

    with store_session() as session:
        store.require_use_case(use_case, session=session)
        pending = pending_approvals(session=session, use_case=use_case)
    if not pending:
        raise ApprovalError(f"{use_case}: no approval is pending")
    flow_run_id = pending[-1].flow_run_id
    give_answer(flow_run_id, approve=approve, reason=reason, approver=approver)
    console.print(f"answered flow run {flow_run_id}: {'approve' if approve else 'reject'}")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with store_session() as session:
            decision = store.get_decision_by_run(flow_run_id, session=session)
        if decision is not None:
            console.print(f"[bold]{decision.kind}[/] by {decision.decided_by}: {decision.reason}")
            return
        time.sleep(0.5)
    console.print("the check has not recorded its decision yet; see `phasegate history`")


Reason = Annotated[str, typer.Option("--reason", help="why (kept with the decision)")]
Approver = Annotated[str | None, typer.Option("--as", help="who decides (default: $USER)")]
Wait = Annotated[float, typer.Option("--wait", help="seconds to wait for the decision")]


def _who(approver: str | None) -> str:
    return approver or os.environ.get("USER") or "cli"


def approve_command(
    use_case: str, reason: Reason, approver: Approver = None, wait: Wait = 60.0
) -> None:
    """Approve the pending move of a use case (same path as the Prefect UI form)."""
    _answer(use_case, True, reason, _who(approver), wait)


def reject_command(
    use_case: str, reason: Reason, approver: Approver = None, wait: Wait = 60.0
) -> None:
    """Reject the pending move of a use case; it keeps its phase."""
    _answer(use_case, False, reason, _who(approver), wait)


def build_command(
    use_case: str,
    phase: Annotated[Phase, typer.Option("--phase", help="the phase to build a candidate for")],
) -> None:
    """Build and score a candidate for one phase, without gating or activating it."""
    from flows.fine_tuning import build_fine_tuning
    from flows.prompting import build_prompting
    from flows.rag import build_rag

    with store_session() as session:
        store.require_use_case(use_case, session=session)
    builder = {
        Phase.PROMPTING: build_prompting,
        Phase.RAG: build_rag,
        Phase.FINE_TUNING: build_fine_tuning,
    }[phase]
    candidate = builder(use_case)
    run = candidate.eval_run
    console.print(
        f"{use_case} {phase}: configuration #{candidate.configuration_id}, {run.metric} "
        f"{run.mean:.3f} [{run.ci_low:.3f}, {run.ci_high:.3f}] on {run.n} items"
    )
    for variant in candidate.variants:
        console.print(f"  {variant.label}: {variant.mean:.3f} ({variant.tokens_per_query:.0f} tok)")


def report_command(
    use_case: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="HTML file")] = None,
) -> None:
    """Write a self-contained HTML report of a use case (no network needed to view it)."""
    with store_session() as session:
        registered = store.require_use_case(use_case, session=session)
        decisions = store.list_decisions(use_case, session=session)
        run_ids = sorted({i for d in decisions for i in d.eval_run_ids})
        runs = {i: run for i in run_ids if (run := get_eval_run(i, session=session))}
        config_ids = {r.configuration_id for r in runs.values() if r.configuration_id}
        configs = {i: store.get_configuration(i, session=session) for i in config_ids}
    target = output or Path("reports") / f"{use_case}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(ReportData(registered, decisions, runs, configs)))
    console.print(f"report written to {target}")


@prompts_app.command("list")
def prompts_list(use_case: str) -> None:
    """List the prompt versions of a use case."""
    with store_session() as session:
        versions = list_prompt_versions(use_case, session=session)
    table = Table(title=f"Prompt versions of {use_case}", header_style="bold")
    for column in ("id", "version", "kind", "content hash", "created"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.id),
            v.label,
            v.variant.kind,
            v.content_hash[:12],
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@prompts_app.command("show")
def prompts_show(
    use_case: str, version: Annotated[str, typer.Argument(help="name or name@vN")]
) -> None:
    """Show one prompt version's content."""
    with store_session() as session:
        found = find_prompt_version(use_case, version, session=session)
    console.print(f"[bold]{found.label}[/] ({found.variant.kind}, {found.content_hash[:12]})")
    console.print(found.variant.model_dump_json(indent=2), highlight=False)


def sandbox_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8900,
    latency_ms: Annotated[float | None, typer.Option(help="added latency per call")] = None,
    job_seconds: Annotated[float | None, typer.Option(help="fine-tuning job duration")] = None,
) -> None:
    """Run the offline OpenAI-compatible sandbox provider until interrupted."""
    args = [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port)]
    if latency_ms is not None:
        args += ["--latency-ms", str(latency_ms)]
    if job_seconds is not None:
        args += ["--job-seconds", str(job_seconds)]
    os.execv(sys.executable, args)
