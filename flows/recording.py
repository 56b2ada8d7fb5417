"""Record a check's decision (with its gate report) in one unit of work."""

from prefect import get_run_logger

from flows.context import UseCaseContext, current_run_id
from flows.results import CheckOutcome
from state.approvals import resolve_approval
from state.db import store_session
from state.domain import DecisionDraft, EvalRun, GateResult
from state.errors import ApprovalError
from state.phases import DecisionKind, Phase
from state.store import record_decision
from tasks.reports import gate_report, publish_gate_report


def record(
    ctx: UseCaseContext,
    kind: DecisionKind,
    to_phase: Phase,
    reason: str,
    *,
    gates: list[GateResult],
    active: EvalRun | None = None,
    candidate: EvalRun | None = None,
    configuration_id: int | None = None,
    decided_by: str = "phasegate",
    approval_status: str | None = None,
) -> CheckOutcome:
    """Publish the gate report, then write the decision (and the approval's answer) at once."""
    run_id = current_run_id()
    transition = f"{ctx.use_case.active_phase}_to_{to_phase}"
    publish_gate_report(
        ctx.name,
        gate_report(
            ctx.name,
            transition,
            gates,
            active=active,
            candidate=candidate,
            outcome=f"{kind}: {reason}",
        ),
    )
    draft = DecisionDraft(
        kind=kind,
        to_phase=to_phase,
        configuration_id=configuration_id,
        candidate_configuration_id=candidate.configuration_id if candidate else None,
        decided_by=decided_by,
        reason=reason,
        flow_run_id=run_id,
        eval_run_ids=[run.id for run in (active, candidate) if run is not None and run.id],
        gate_results=gates,
    )
    with store_session(ctx.store_url) as session:
        decision = record_decision(
            ctx.name, draft, expected_version=ctx.use_case.version, session=session
        )
        if approval_status is not None:
            try:
                resolve_approval(
                    run_id, approval_status, approver=decided_by, reason=reason, session=session
                )
            except ApprovalError:
                pass  # answered already by the expiry sweeper; the decision is the same
    get_run_logger().info("%s: %s (%s)", ctx.name, kind, reason)
    return CheckOutcome(
        use_case=ctx.name,
        decision=decision.kind,
        decision_id=decision.id,
        from_phase=decision.from_phase,
        to_phase=decision.to_phase,
        reason=decision.reason,
        configuration_id=decision.configuration_id,
    )
