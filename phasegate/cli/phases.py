"""Commands that run flows: check, approve/reject, build, hybrid, monitor."""

import os
import time
from typing import Annotated

import typer

from phasegate.cli.app import app, console, require_use_case, store_session
from state.errors import ApprovalError
from state.phases import Phase


@app.command("check")
def check_command(
    use_case: Annotated[str, typer.Argument(help="a registered use case")],
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="approve moves whose gates all pass")
    ] = False,
) -> None:
    """Run the phase check of a use case now and show its decision."""
    from flows.phase_check import check_phase
    from phasegate.cli.views import history_table
    from state import store

    require_use_case(use_case)
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


@app.command("monitor")
def monitor_command(
    use_case: Annotated[str | None, typer.Argument(help="one use case (default: all)")] = None,
) -> None:
    """Re-score active configurations now and roll back the ones that regressed."""
    from flows.monitoring import monitor

    if use_case is not None:
        require_use_case(use_case)
    for name, outcome in monitor(use_case).items():
        console.print(f"[bold]{name}[/]: {outcome.status} — {outcome.reason}")


@app.command("hybrid")
def hybrid_command(use_case: str) -> None:
    """Build, score and gate the hybrid (tuned model + RAG fallback) of a tuned use case."""
    from flows.hybrid import check_hybrid

    require_use_case(use_case)
    outcome = check_hybrid(use_case)
    console.print(f"[bold]{outcome.decision}[/]: {outcome.reason}")


def _answer(use_case: str, approve: bool, reason: str, approver: str, wait: float) -> None:
    """Answer the pending approval of a use case, then wait a little for its decision."""
    from state import store
    from state.approvals import pending_approvals
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


@app.command("approve")
def approve_command(
    use_case: str, reason: Reason, approver: Approver = None, wait: Wait = 60.0
) -> None:
    """Approve the pending move of a use case (same path as the Prefect UI form)."""
    _answer(use_case, True, reason, _who(approver), wait)


@app.command("reject")
def reject_command(
    use_case: str, reason: Reason, approver: Approver = None, wait: Wait = 60.0
) -> None:
    """Reject the pending move of a use case; it keeps its phase."""
    _answer(use_case, False, reason, _who(approver), wait)


@app.command("build")
def build_command(
    use_case: str,
    phase: Annotated[Phase, typer.Option("--phase", help="the phase to build a candidate for")],
) -> None:
    """Build and score a candidate for one phase, without gating or activating it."""
    from flows.fine_tuning import build_fine_tuning
    from flows.prompting import build_prompting
    from flows.rag import build_rag

    require_use_case(use_case)
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
