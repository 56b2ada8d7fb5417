"""Commands that run flows: check, approve/reject, build, hybrid, monitor."""

import os
import time
from typing import TYPE_CHECKING, Annotated

import typer

from phasegate.cli.app import (
    AsJson,
    app,
    console,
    print_json,
    require_prefect,
    require_use_case,
    store,
)
from phasegate.temporary_api import prefect_api
from state.errors import InputError, LeaseLost, OutcomeRefused
from state.phases import DecisionKind, Phase

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

    from state.domain import Decision

FailOn = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        help="exit 4 when the decision is one of these, e.g. held,rejected,expired",
        metavar="DECISIONS",
    ),
]


def _refused(fail_on: str | None) -> set[DecisionKind]:
    """The decisions named by --fail-on; raises InputError on an unknown one."""
    if fail_on is None:
        return set()
    names = [name.strip() for name in fail_on.split(",") if name.strip()]
    known = [kind.value for kind in DecisionKind]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise InputError(
            f"--fail-on: unknown decision {', '.join(map(repr, unknown)) or '(none)'} "
            f"(choose from {', '.join(known)})"
        )
    return {DecisionKind(name) for name in names}


def _decision_of(state: "State") -> "Decision | None":
    """The decision a check's flow run recorded, if any (its outcome carries it)."""
    from flows.results import CheckOutcome

    outcome = state.result() if state.is_completed() else None
    return outcome.recorded if isinstance(outcome, CheckOutcome) else None


@app.command("check")
def check_command(
    use_case: Annotated[str, typer.Argument(help="a registered use case")],
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="approve moves whose gates all pass")
    ] = False,
    fail_on: FailOn = None,
    as_json: AsJson = False,
) -> None:
    """Run the phase check of a use case now and show its decision."""
    from flows.phase_check import check_phase
    from phasegate.cli import outputs, records
    from phasegate.cli.progress_view import follow
    from phasegate.cli.views import history_view

    refused = _refused(fail_on)
    require_use_case(use_case)
    require_prefect()
    with prefect_api(), follow():
        state = check_phase(use_case, auto_approve=auto_approve, return_state=True)
    if state.is_cancelled():  # it lost its lease and recorded nothing; the message says why
        raise LeaseLost(f"{use_case}: the check was cancelled: {state.message}")
    recorded = _decision_of(state)
    if state.is_failed():
        state.result()  # raises what failed the check: its exit code follows the error tree
    if recorded is not None:
        kind, reason = recorded.kind, recorded.reason
    else:
        outcome = state.result()
        kind, reason = outcome.decision, outcome.reason
    failed = kind in refused
    if as_json:
        print_json(
            outputs.CheckOutput(
                use_case=use_case,
                decision=kind,
                reason=reason,
                recorded=records.decision(recorded) if recorded else None,
                failed_on=failed,
            )
        )
    else:
        if recorded is not None:
            console.print(history_view(console, use_case, [recorded], gates=True), crop=False)
        console.print(f"{kind}: {reason}", soft_wrap=True)
    if failed:
        raise OutcomeRefused(f"{use_case}: decision {kind} is one of --fail-on {fail_on}")


@app.command("monitor")
def monitor_command(
    use_case: Annotated[str | None, typer.Argument(help="one use case (default: all)")] = None,
    as_json: AsJson = False,
) -> None:
    """Re-score active configurations now and roll back the ones that regressed."""
    from flows.monitoring import monitor
    from phasegate.cli import outputs, records
    from phasegate.cli.progress_view import follow

    if use_case is not None:
        require_use_case(use_case)
    require_prefect()
    with prefect_api(), follow():
        results = monitor(use_case)
    if as_json:
        found = [
            outputs.MonitorResult(
                **outcome.model_dump(exclude={"gates"}),
                gates=[records.gate(g) for g in outcome.gates],
            )
            for outcome in results.values()
        ]
        print_json(outputs.MonitorOutput(results=found))
        return
    for name, outcome in results.items():
        console.print(f"{name}: {outcome.status} — {outcome.reason}", soft_wrap=True)


@app.command("hybrid")
def hybrid_command(use_case: str, as_json: AsJson = False) -> None:
    """Build, score and gate the hybrid (tuned model + RAG fallback) of a tuned use case."""
    from flows.hybrid import check_hybrid
    from phasegate.cli import outputs
    from phasegate.cli.progress_view import follow

    require_use_case(use_case)
    require_prefect()
    with prefect_api(), follow():
        outcome = check_hybrid(use_case)
    if as_json:
        print_json(
            outputs.HybridOutput(
                use_case=use_case,
                decision=outcome.decision,
                reason=outcome.reason,
                decision_id=outcome.decision_id,
                configuration_id=outcome.configuration_id,
            )
        )
        return
    console.print(f"{outcome.decision}: {outcome.reason}", soft_wrap=True)


def _answer(use_case: str, approve: bool, reason: str, approver: str, wait: float) -> None:
    """Answer the pending approval of a use case, then wait a little for its decision."""
    from tasks.approvals import give_answer

    answering = store()
    # ApprovalError when nothing is pending, or the check that asked lost its lease.
    flow_run_id = answering.approval_to_answer(use_case).flow_run_id
    require_prefect()
    with prefect_api():
        give_answer(flow_run_id, approve=approve, reason=reason, approver=approver)
    console.print(f"answered flow run {flow_run_id}: {'approve' if approve else 'reject'}")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        decision = answering.get_decision_by_run(flow_run_id)
        if decision is not None:
            console.print(f"{decision.kind} by {decision.decided_by}: {decision.reason}")
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
    from flows.results import NotBuilt
    from phasegate.cli.progress_view import follow

    require_use_case(use_case)
    require_prefect()
    builder = {
        Phase.PROMPTING: build_prompting,
        Phase.RAG: build_rag,
        Phase.FINE_TUNING: build_fine_tuning,
    }[phase]
    with prefect_api(), follow():
        candidate = builder(use_case)
    if isinstance(candidate, NotBuilt):
        console.print(f"{use_case} {phase}: not built: {candidate.reason}", markup=False)
        return
    run = candidate.eval_run
    console.print(
        f"{use_case} {phase}: configuration #{candidate.configuration_id}, {run.metric} "
        f"{run.mean:.3f} [{run.ci_low:.3f}, {run.ci_high:.3f}] on {run.n} items"
    )
    for variant in candidate.variants:
        console.print(f"  {variant.label}: {variant.mean:.3f} ({variant.tokens_per_query:.0f} tok)")
