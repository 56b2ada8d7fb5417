"""The phase check, read top to bottom: measure, check entry, build, gate, ask, record.

`check_phase` holds the use case's lease and tells the story; each step below is one function
that adds to a `Draft` (the pending decision) or ends it with one verb: `hold`, `advance`,
`answer` or `expire`.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Cancelled, Completed, State

from flows.context import UseCaseContext, current_run_id, open_check
from flows.entry import ENTRY_DATA, volume_30d
from flows.labels import name_check_run
from flows.latency import time_side_by_side
from flows.migration import migrate
from flows.prompting import build_prompting
from flows.recording import Draft
from flows.results import Candidate, CheckOutcome, HandOff, NotBuilt
from flows.scoring import score_canary, score_configuration
from state.domain import Configuration
from state.errors import (
    BatchesPending,
    LeaseLost,
    MeasurementInvalid,
    PhasegateError,
    ProviderError,
    ProviderUnreachable,
)
from state.phases import DecisionKind, GateStatus, Phase, Stage
from state.settings import get_settings
from state.store_api import Lease
from tasks import approvals, progress
from tasks.batch_waits import suspend_for, suspension
from tasks.events import emit_approval_requested
from tasks.gates import (
    CANDIDATE_BUILD,
    PROMPT_AB,
    GateInputs,
    Verdict,
    entry_met,
    entry_reason,
    move_objective,
    run_checks,
    unmet,
    verdict,
)
from tasks.reports import gate_report, publish_gate_report

# Why a check holds a use case on the last phase (the sweep records it too: flows/idle.py).
LAST_PHASE = "fine_tuning is the last phase; monitoring guards it"


@dataclass(frozen=True)
class Asking:
    """How this run gets a person's answer: auto-approve, wait in a pause, or hand off."""

    auto_approve: bool
    poll_seconds: int
    wait: bool


@flow(name="check-phase")
def check_phase(
    use_case: str,
    auto_approve: bool = False,
    approval_poll_seconds: int = 2,
    wait_for_approval: bool = True,
):
    """Check whether a use case should move to its next phase, and record the decision.

    With `wait_for_approval=False` (the sweep), a check that needs a person starts a run of the
    phase-check deployment to ask, and ends "Awaiting Approval"; without that deployment it
    records `held`. An approval that nobody gives in time ends "Expired". A check whose lease
    was broken or taken over records nothing and ends Cancelled, saying why. A deployment's run
    whose batch evals outlast `eval.suspend_after_seconds` suspends until they end, and runs
    again from the top (tasks/batch_waits.py).
    """
    store_url = get_settings().store_url
    try:
        with suspension(store_url), _open_named(use_case) as (ctx, held):
            if not held:
                return _named(_skip(ctx, f"check {held.holder} is running"))
            try:
                if ctx.use_case.active_configuration_id is None:
                    return _named(_baseline(ctx))
                asking = Asking(auto_approve, approval_poll_seconds, wait_for_approval)
                outcome = _check(ctx, asking)
            except LeaseLost as lost:
                return lease_lost(ctx, lost)
    except BatchesPending as pending:
        # The lease is released: the run starts again from the top once its batches ended,
        # and reuses what it scored so far.
        ctx.store_unstored()
        suspend_for(pending, store_url, ctx.spec.eval.poll_max_seconds)
    if isinstance(outcome, HandOff):
        # Started after the lease is released, so that the new run can take it.
        return _hand_off(outcome, use_case)
    return _named(outcome)


@contextmanager
def _open_named(use_case: str) -> Iterator[tuple[UseCaseContext, Lease]]:
    """Open the check (its lease and context in one unit) and name the run after what it read.

    A check that cannot read its use case is named `<use case> · check` and fails on that error.
    """
    with ExitStack() as stack:
        try:
            ctx, held = stack.enter_context(open_check(use_case))
        except PhasegateError:
            name_check_run(use_case, None)
            raise
        name_check_run(use_case, ctx.use_case)
        yield ctx, held


def lease_lost(ctx: UseCaseContext, lost: LeaseLost) -> State:
    """End a run that lost its lease: its approval request closes; Cancelled, saying why."""
    ctx.store.cancel_approval(current_run_id(), str(lost))
    get_run_logger().warning("%s: %s; nothing recorded", ctx.name, lost)
    return Cancelled(message=f"{lost}; nothing recorded")


def _named(outcome: CheckOutcome) -> State:
    """A Completed state named after the decision, so the UI shows "Held", "Expired"..."""
    name = outcome.decision.value.replace("_", " ").title()
    return Completed(name=name, data=outcome, message=outcome.reason)


def _skip(ctx: UseCaseContext, reason: str) -> CheckOutcome:
    """Record `skipped`: another check holds the lease."""
    nxt = ctx.use_case.active_phase.next or ctx.use_case.active_phase
    draft = Draft(ctx, nxt, ctx.use_case.active_configuration_id)
    return draft.hold(reason, kind=DecisionKind.SKIPPED)


def _baseline(ctx: UseCaseContext) -> CheckOutcome:
    """A new use case: the A/B of its prompt variants; the winner becomes active."""
    progress.stage(f"{ctx.name}: new use case: A/B of {len(ctx.spec.prompts)} prompt variants")
    candidate = build_prompting(ctx.name)
    winner, mean = candidate.evidence["winner"], candidate.eval_run.mean
    ab = PROMPT_AB.result(
        GateStatus.PASS,
        f"best of {len(candidate.variants)} prompt variants: {winner}",
        observed=mean,
        **candidate.evidence,
    )
    gates = [ab, *candidate.gate_results]
    draft = Draft(ctx, Phase.PROMPTING, None, candidate=candidate.eval_run, gates=gates)
    return draft.baseline(f"baseline {winner} scored {mean:.3f}", candidate.evidence.get("online"))


def _check(ctx: UseCaseContext, asking: Asking) -> CheckOutcome | HandOff:
    """Measure the active configuration, check entry, build and gate the candidate, decide."""
    config = ctx.active_configuration()
    if (notice := ctx.start.retirement) is not None:
        migration = migrate(ctx, config, notice)
        if isinstance(migration, CheckOutcome):
            return migration
        draft, said = migration
        return _decide(ctx, draft, said, asking, ctx.spec.retirement.require_approval)
    current, nxt = ctx.use_case.active_phase, ctx.use_case.active_phase.next
    if (live := ctx.start.live_rollout) is not None:
        # No second move while one takes live traffic: it ends `advanced` or `rolled_back`.
        return Draft(ctx, live.to_phase, config.id).hold_for(live)
    progress.stage(f"{ctx.name}: measuring the active configuration, {ctx.label(config)}")
    active = score_configuration(ctx, config, with_decision=True)
    draft = Draft(ctx, nxt or current, config.id, active=active)
    if nxt is None:
        return draft.hold(LAST_PHASE)
    progress.stage(f"{ctx.name}: entry checks for {nxt}")
    entry = check_entry(ctx, draft)
    if entry is None:
        return draft.hold(entry_reason(draft.gates))
    inputs, reuse = entry
    progress.stage(f"{ctx.name}: entry met; building the {nxt} candidate")
    candidate = _build(ctx, draft, reuse)
    if candidate is None:
        return draft.hold(draft.gates[-1].detail)
    said = _gate_promotion(ctx, draft, inputs, config, candidate)
    return _decide(ctx, draft, said, asking)


def check_entry(ctx: UseCaseContext, draft: Draft) -> tuple[GateInputs, dict[str, Any]] | None:
    """Is the next phase needed and possible? Adds the entry checks.

    If it is: the gate inputs, and what the builder reuses of the entry's work.
    """
    current = ctx.use_case.active_phase
    fields, refused, reuse = ENTRY_DATA[draft.to_phase](ctx)
    inputs = GateInputs(
        use_case=ctx.name,
        transition=current.transition,
        thresholds=getattr(ctx.spec.gates, current.transition),
        constraints=ctx.spec.constraints,
        baseline=draft.active,
        guardrails=ctx.spec.guardrails,
        volume_30d=volume_30d(ctx),
        **fields,
    )
    entry = run_checks(inputs, Stage.ENTRY) + refused
    draft.gates += entry
    objective, why = move_objective(entry)
    inputs = inputs.model_copy(update={"objective": objective, "objective_reason": why})
    return (inputs, reuse) if entry_met(entry) and not refused else None


def _builder(phase: Phase) -> Callable[..., Candidate | NotBuilt]:
    """The flow that builds a candidate for `phase`, imported when a check gets that far.

    Checks that stop earlier (most of a sweep's) do not import the retrieval or trainer stacks.
    """
    if phase == Phase.RAG:
        from flows.rag import build_rag

        return build_rag
    from flows.fine_tuning import build_fine_tuning

    return build_fine_tuning


def _build(ctx: UseCaseContext, draft: Draft, reuse: dict[str, Any]) -> Candidate | None:
    """Build and score the candidate; None (with a failed check) when the provider failed."""
    try:
        candidate = _builder(draft.to_phase)(ctx.name, **reuse)
    except (MeasurementInvalid, ProviderUnreachable):
        raise  # no measurement, or no provider: the check fails and records nothing
    except ProviderError as exc:
        failed = CANDIDATE_BUILD.result(
            GateStatus.FAIL,
            str(exc),
            observed="failed",
            threshold="succeeded",
        )
        draft.gates.append(failed)
        return None
    if isinstance(candidate, NotBuilt):
        draft.gates += candidate.gates
        return None
    draft.gates += candidate.gate_results
    draft.candidate = candidate.eval_run
    return candidate


def _gate_promotion(
    ctx: UseCaseContext,
    draft: Draft,
    inputs: GateInputs,
    config: Configuration,
    candidate: Candidate,
) -> Verdict:
    """Is the candidate better, affordable and fast enough? Adds the checks; their verdict."""
    tuned = ctx.configuration(candidate.configuration_id)
    inputs = inputs.model_copy(
        update={
            "subject": draft.candidate,
            "prices_active": ctx.settings.price_for(config.model),
            "prices_candidate": ctx.settings.price_for(tuned.model),
            "training_tokens": candidate.evidence.get("trained_tokens"),
            # The active run may be cached from another day: time both now, under one load.
            "latency_pairs": time_side_by_side(ctx, config, tuned, candidate.passages),
            **_canary_runs(ctx, config, tuned, draft.to_phase),
        }
    )
    progress.stage(f"{ctx.name}: promotion checks")
    draft.gates += run_checks(inputs, Stage.PROMOTION)
    return verdict(draft.gates)


def _canary_runs(
    ctx: UseCaseContext, config: Configuration, tuned: Configuration, phase: Phase
) -> dict:
    """Canary runs of the active and the tuned configuration (none without `data.canary`)."""
    if phase != Phase.FINE_TUNING or ctx.spec.data.canary is None:
        return {}
    return {
        "canary_baseline": score_canary(ctx, config),
        "canary_subject": score_canary(ctx, tuned),
    }


def _decide(
    ctx: UseCaseContext,
    draft: Draft,
    said: Verdict,
    asking: Asking,
    require_approval: bool | None = None,
) -> CheckOutcome | HandOff:
    """Hold, advance, or ask a person, as the verdict and the approval rule say.

    `require_approval`: the rule of a retirement migration; default: the transition's.
    """
    if require_approval is None:
        thresholds = getattr(ctx.spec.gates, ctx.use_case.active_phase.transition)
        require_approval = thresholds.require_approval
    if said == Verdict.HOLD:
        return draft.hold(unmet(draft.gates, failed_only=True))
    if not (require_approval or said == Verdict.ASK):
        return draft.advance("every gate passed")
    if asking.auto_approve:
        if said == Verdict.ASK:
            return draft.hold("inconclusive gates need a person; auto-approval never advances them")
        return draft.advance("every gate passed (auto-approved)", by="auto-approve")
    if not asking.wait:
        if (deployment_id := approvals.check_deployment()) is not None:
            draft.store_scored()  # the run that asks reuses it
            return HandOff(deployment_id=deployment_id)
        return draft.hold(
            "the gates ask for a person's approval and this run does not wait for one: ask "
            f"with `phasegate check {ctx.name}` (with the phase-check deployment, a sweep "
            "starts that run itself)"
        )
    return _ask(ctx, draft, asking.poll_seconds)


def _ask(ctx: UseCaseContext, draft: Draft, poll_seconds: int) -> CheckOutcome:
    """Pause for a person (the form carries the gate report); record the answer or expiry."""
    timeout = ctx.spec.approval.timeout_seconds
    draft.store_scored()  # the request names the candidate; the report, the runs
    report = gate_report(
        ctx.name,
        ctx.use_case.active_phase.transition,
        draft.gates,
        active=draft.active,
        candidate=draft.candidate,
        outcome="waiting for approval",
    )
    publish_gate_report(ctx.name, report)
    run_id = current_run_id()
    approval = ctx.store.request_approval(
        ctx.name,
        run_id,
        to_phase=draft.to_phase,
        candidate_configuration_id=draft.candidate.configuration_id,
        expires_at=datetime.now(UTC) + timedelta(seconds=timeout),
    )
    # Once, before the pause: the pause polls, the event tells people once per approval.
    _announce_wait(ctx, draft, run_id, approval.id, approval.expires_at)
    get_run_logger().warning(
        "%s: waiting up to %d s for approval of the move to %s — approve in the Prefect UI or "
        "with `phasegate approve %s --reason ...`",
        ctx.name,
        timeout,
        draft.to_phase,
        ctx.name,
    )
    description = (
        f"{report}\n\nThe full report is the artifact `gate-report-{ctx.name}` of this run. "
        "Approve to make the candidate active; reject to keep the current phase."
    )
    approvers = ctx.spec.approval.approvers
    answer = approvals.ask_for_approval(description, timeout, poll_seconds, approvers)
    if answer is None:
        return draft.expire(f"approval expired: no answer within {timeout} s")
    return draft.answer(answer)


def _announce_wait(
    ctx: UseCaseContext, draft: Draft, run_id: str, approval_id: int, expires_at: datetime
) -> None:
    """Emit `phasegate.approval.requested`: the move, why, and who may answer until when."""
    emit_approval_requested(
        ctx.name,
        key="approval",
        flow_run_id=run_id,
        move=f"{ctx.use_case.active_phase}→{draft.to_phase}",
        payload={
            "kind": "phase",
            "approval_id": approval_id,
            "expires_at": expires_at.isoformat(),
            "approvers": list(ctx.spec.approval.approvers),
            "why": unmet(draft.gates) or "the move requires a person's approval",
        },
    )


def _hand_off(hand_off: HandOff, use_case: str) -> State:
    """Start the run of the phase-check deployment that asks; end "Awaiting Approval"."""
    run_name = approvals.hand_off_check(hand_off.deployment_id, use_case)
    message = f"the gates ask for a person's approval: flow run {run_name} asks for it"
    get_run_logger().warning("%s: %s", use_case, message)
    return Completed(name="Awaiting Approval", message=message)
