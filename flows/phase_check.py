"""The phase check: measure, check entry, build and score the candidate, gate, approve, record."""

from datetime import timedelta

from prefect import flow, get_run_logger
from prefect.states import Completed, State

from flows.context import UseCaseContext, current_run_id
from flows.entry import ENTRY_DATA, volume_30d
from flows.fine_tuning import build_fine_tuning
from flows.labels import check_run_name
from flows.prompting import build_prompting
from flows.rag import build_rag
from flows.recording import record
from flows.results import Candidate, CheckOutcome, HandOff
from flows.scoring import score_canary, score_configuration
from state.approvals import request_approval
from state.db import store_session
from state.domain import Configuration
from state.errors import MeasurementInvalid, ProviderError
from state.leases import lease
from state.models import utcnow
from state.phases import DecisionKind, GateStatus, Phase, Stage
from tasks.approvals import ApprovalTimedOut, check_deployment, hand_off_check, wait_for_approval
from tasks.gates import (
    GateInputs,
    Verdict,
    entry_met,
    entry_reason,
    gate_result,
    run_checks,
    unmet,
    verdict,
)
from tasks.reports import gate_report, publish_gate_report

BUILDERS = {Phase.RAG: build_rag, Phase.FINE_TUNING: build_fine_tuning}


def _named(outcome: CheckOutcome) -> State:
    """A Completed state named after the decision, so the UI shows "Held", "Advanced"..."""
    return Completed(
        name=outcome.decision.value.replace("_", " ").title(), data=outcome, message=outcome.reason
    )


def _baseline(ctx: UseCaseContext) -> CheckOutcome:
    candidate = build_prompting(ctx.name)
    ab = gate_result(
        "prompt_ab",
        Stage.PROMOTION,
        GateStatus.PASS,
        f"best of {len(candidate.variants)} prompt variants: {candidate.evidence['winner']}",
        observed=candidate.eval_run.mean,
        **candidate.evidence,
    )
    return record(
        ctx,
        DecisionKind.BASELINED,
        Phase.PROMPTING,
        f"baseline {candidate.evidence['winner']} scored {candidate.eval_run.mean:.3f}",
        gates=[ab],
        candidate=candidate.eval_run,
        configuration_id=candidate.configuration_id,
    )


def _ask(ctx: UseCaseContext, candidate: Candidate, report: str, poll_seconds: int):
    """Pause for a person; the form's description carries the gate report."""
    timeout = ctx.spec.approval.timeout_seconds
    with store_session(ctx.store_url) as session:
        request_approval(
            ctx.name,
            current_run_id(),
            to_phase=candidate.phase,
            candidate_configuration_id=candidate.configuration_id,
            expires_at=utcnow() + timedelta(seconds=timeout),
            session=session,
        )
    get_run_logger().warning(
        "%s: waiting up to %d s for approval of the move to %s — approve in the Prefect UI or "
        "with `phasegate approve %s --reason ...`",
        ctx.name,
        timeout,
        candidate.phase,
        ctx.name,
    )
    description = (
        f"{report}\n\nThe full report is the artifact `gate-report-{ctx.name}` of this run. "
        "Approve to make the candidate active; reject to keep the current phase."
    )
    return wait_for_approval(description, timeout, poll_seconds, ctx.spec.approval.approvers)


def _gate(
    ctx: UseCaseContext, auto_approve: bool, poll_seconds: int, wait: bool
) -> CheckOutcome | HandOff:
    config = ctx.active_configuration()
    active = score_configuration(ctx, config)
    current, nxt = ctx.use_case.active_phase, ctx.use_case.active_phase.next
    keep = {"configuration_id": config.id, "active": active}
    if nxt is None:
        return record(
            ctx,
            DecisionKind.HELD,
            current,
            "fine_tuning is the last phase; monitoring guards it",
            gates=[],
            **keep,
        )
    thresholds = getattr(ctx.spec.gates, current.transition)
    fields, refused = ENTRY_DATA[nxt](ctx)
    inputs = GateInputs(
        use_case=ctx.name,
        transition=current.transition,
        thresholds=thresholds,
        constraints=ctx.spec.constraints,
        baseline=active,
        guardrails=ctx.spec.guardrails,
        volume_30d=volume_30d(ctx),
        **fields,
    )
    entry = run_checks(inputs, Stage.ENTRY) + refused
    if not entry_met(entry) or refused:
        return record(ctx, DecisionKind.HELD, nxt, entry_reason(entry), gates=entry, **keep)
    try:
        candidate = BUILDERS[nxt](ctx.name)
    except MeasurementInvalid:
        raise  # no measurement: the check fails and records nothing
    except ProviderError as exc:
        failed = gate_result(
            "candidate_build",
            Stage.PROMOTION,
            GateStatus.FAIL,
            str(exc),
            observed="failed",
            threshold="succeeded",
        )
        return record(ctx, DecisionKind.HELD, nxt, str(exc), gates=entry + [failed], **keep)
    inputs = inputs.model_copy(
        update={
            "subject": candidate.eval_run,
            "prices_active": ctx.settings.price_for(config.model),
            "prices_candidate": ctx.settings.price_for(
                ctx.configuration(candidate.configuration_id).model
            ),
            "training_tokens": candidate.evidence.get("trained_tokens"),
            **_canary_runs(ctx, config, candidate),
        }
    )
    gates = entry + run_checks(inputs, Stage.PROMOTION)
    said = verdict(gates)
    runs = {"active": active, "candidate": candidate.eval_run}
    if said == Verdict.HOLD:
        failed = unmet(gates, failed_only=True)
        return record(
            ctx, DecisionKind.HELD, nxt, failed, gates=gates, configuration_id=config.id, **runs
        )
    if not (thresholds.require_approval or said == Verdict.ASK):
        return record(
            ctx,
            DecisionKind.ADVANCED,
            nxt,
            "every gate passed",
            gates=gates,
            configuration_id=candidate.configuration_id,
            **runs,
        )
    if auto_approve:
        if said == Verdict.ASK:
            return record(
                ctx,
                DecisionKind.HELD,
                nxt,
                "inconclusive gates need a person; auto-approval never advances them",
                gates=gates,
                configuration_id=config.id,
                **runs,
            )
        return record(
            ctx,
            DecisionKind.ADVANCED,
            nxt,
            "every gate passed (auto-approved)",
            gates=gates,
            configuration_id=candidate.configuration_id,
            decided_by="auto-approve",
            approval_status=None,
            **runs,
        )
    if not wait:
        if (deployment_id := check_deployment()) is not None:
            return HandOff(deployment_id=deployment_id)
        return record(
            ctx,
            DecisionKind.HELD,
            nxt,
            f"the gates ask for a person's approval and this run does not wait for one: "
            f"ask with `phasegate check {ctx.name}` (with the phase-check deployment, a sweep "
            "starts that run itself)",
            gates=gates,
            configuration_id=config.id,
            **runs,
        )
    report = gate_report(
        ctx.name,
        current.transition,
        gates,
        active=active,
        candidate=candidate.eval_run,
        outcome="waiting for approval",
    )
    publish_gate_report(ctx.name, report)
    try:
        answer = _ask(ctx, candidate, report, poll_seconds)
    except ApprovalTimedOut as exc:
        record(
            ctx,
            DecisionKind.EXPIRED,
            nxt,
            f"approval expired: {exc}",
            gates=gates,
            configuration_id=config.id,
            decided_by="timeout",
            approval_status="expired",
            **runs,
        )
        raise
    approval = gate_result(
        "approval",
        Stage.APPROVAL,
        GateStatus.PASS if answer.approve else GateStatus.FAIL,
        answer.reason,
        observed=answer.approver,
        threshold="a person's approval",
    )
    kind = DecisionKind.ADVANCED if answer.approve else DecisionKind.REJECTED
    return record(
        ctx,
        kind,
        nxt,
        answer.reason,
        gates=gates + [approval],
        configuration_id=candidate.configuration_id if answer.approve else config.id,
        decided_by=answer.approver,
        approval_status="approved" if answer.approve else "rejected",
        **runs,
    )


def _canary_runs(ctx: UseCaseContext, config: Configuration, candidate: Candidate) -> dict:
    """Canary runs of the active and the tuned configuration (none without `data.canary`)."""
    if candidate.phase != Phase.FINE_TUNING or ctx.spec.data.canary is None:
        return {}
    tuned = ctx.configuration(candidate.configuration_id)
    return {
        "canary_baseline": score_canary(ctx, config),
        "canary_subject": score_canary(ctx, tuned),
    }


@flow(name="check-phase", flow_run_name=check_run_name)
def check_phase(
    use_case: str,
    auto_approve: bool = False,
    approval_poll_seconds: int = 2,
    wait_for_approval: bool = True,
):
    """Check whether a use case should move to its next phase, and record the decision.

    With `wait_for_approval=False` (the sweep), a check that needs a person starts a run of the
    phase-check deployment to ask, and ends "Awaiting Approval"; without that deployment it
    records `held`.
    """
    ctx = UseCaseContext.load(use_case)
    with lease(
        use_case,
        current_run_id(),
        store_url=ctx.store_url,
        ttl_seconds=ctx.settings.lease_ttl_seconds,
    ) as held:
        if not held:
            nxt = ctx.use_case.active_phase.next or ctx.use_case.active_phase
            return _named(
                record(
                    ctx,
                    DecisionKind.SKIPPED,
                    nxt,
                    f"check {held.holder} is running",
                    gates=[],
                    configuration_id=ctx.use_case.active_configuration_id,
                )
            )
        ctx = UseCaseContext.load(use_case)  # re-read under the lease
        if ctx.use_case.active_configuration_id is None:
            return _named(_baseline(ctx))
        outcome = _gate(ctx, auto_approve, approval_poll_seconds, wait_for_approval)
    if isinstance(outcome, HandOff):
        # Started after the lease is released, so that the new run can take it.
        run_name = hand_off_check(outcome.deployment_id, use_case)
        message = f"the gates ask for a person's approval: flow run {run_name} asks for it"
        get_run_logger().warning("%s: %s", use_case, message)
        return Completed(name="Awaiting Approval", message=message)
    return _named(outcome)
