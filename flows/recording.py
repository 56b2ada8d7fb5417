"""Record a check's decision (with what it scored, and its gate report) in one unit of work.

`Draft` gathers it.
"""

from dataclasses import dataclass, field

from prefect import get_run_logger

from flows.context import UseCaseContext, current_run_id, held_lease
from flows.results import CheckOutcome
from state.domain import (
    Decision,
    DecisionDraft,
    EvalRun,
    GateResult,
    Rollout,
    RolloutDraft,
    Unstored,
    as_stored,
)
from state.errors import LeaseLost
from state.phases import DecisionKind, GateStatus, Phase
from state.spec_rollout import RolloutStep
from state.store_api import Lease
from tasks.approvals import ApprovalInput
from tasks.events import emit_decision_recorded
from tasks.gates import APPROVAL
from tasks.reports import gate_report, publish_eval_table, publish_gate_report


def _still_held(ctx: UseCaseContext) -> Lease | None:
    """The lease held here, unless its heartbeat found it lost (LeaseLost, saying why)."""
    held = held_lease()
    if held is not None and held.lost:
        why = ctx.store.lease_lost_reason(ctx.name, held.flow_run_id)
        raise LeaseLost(why or f"flow run {held.flow_run_id} lost the lease of {ctx.name}")
    return held


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
    rollout: RolloutDraft | None = None,
    run_id: str | None = None,
) -> CheckOutcome:
    """Write the decision (and the approval's answer) at once, then publish the gate report.

    What the check kept for its decision to store (its configurations and runs) is stored in
    the same commit. With `rollout`, the decision is `rolling_out` and the rollout starts in
    that commit too. Under a held lease it must still be ours: LeaseLost when it was broken
    or taken over (the heartbeat may have seen it; the store checks it as it writes), and
    nothing is written.
    """
    run_id = run_id or current_run_id()
    held = _still_held(ctx)
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
    unstored = ctx.unstored if ctx.unstored is not None else Unstored()
    kept = list(unstored.eval_runs.values())
    decision, rollout_id, stored = ctx.store.record_scored_check(
        ctx.name,
        draft,
        unstored,
        rollout=rollout,
        expected_version=ctx.use_case.version,
        approval_status=approval_status,
        lease_holder=held.flow_run_id if held is not None else None,
    )
    unstored.clear()
    runs = (as_stored(active, stored), as_stored(candidate, stored))
    _publish(ctx, to_phase, gates, runs, f"{kind}: {reason}")
    for run in kept:
        if run.id in stored:  # not when the flow run's decision was recorded before
            publish_eval_table(as_stored(run, stored))
    get_run_logger().info("%s: %s (%s)", ctx.name, kind, reason)
    emit_decision_recorded(decision, run_id)
    return _outcome(ctx.name, decision, rollout_id)


def _publish(
    ctx: UseCaseContext,
    to_phase: Phase,
    gates: list[GateResult],
    runs: tuple[EvalRun | None, EvalRun | None],
    outcome: str,
) -> None:
    """Publish the gate report of a recorded decision (its runs as stored)."""
    active, candidate = runs
    transition = f"{ctx.use_case.active_phase}_to_{to_phase}"
    report = gate_report(
        ctx.name, transition, gates, active=active, candidate=candidate, outcome=outcome
    )
    publish_gate_report(ctx.name, report)


def _outcome(use_case: str, decision: Decision, rollout_id: int | None) -> CheckOutcome:
    """What the check returns: the decision's terms, and the decision as recorded."""
    return CheckOutcome(
        use_case=use_case,
        decision=decision.kind,
        decision_id=decision.id,
        from_phase=decision.from_phase,
        to_phase=decision.to_phase,
        reason=decision.reason,
        configuration_id=decision.configuration_id,
        rollout_id=rollout_id,
        recorded=decision,
    )


@dataclass
class Draft:
    """A pending decision: the runs, gates and configurations a check has gathered so far.

    A check adds gates as it goes and ends with one verb (`hold`, `advance`, `answer`,
    `expire`), which records the decision; `configuration_id` is the active configuration,
    which stays active unless the draft advances to `candidate_configuration_id`.
    """

    ctx: UseCaseContext
    to_phase: Phase
    configuration_id: int | None
    active: EvalRun | None = None
    candidate: EvalRun | None = None
    gates: list[GateResult] = field(default_factory=list)
    # A retirement's successor switches at once: the retiring model cannot stay the control
    # of a rollout past its shutdown date.
    at_once: bool = False
    # The decision's run id, when not this flow run's own (the sweep decides many use cases).
    run_id: str | None = None

    def hold(self, reason: str, kind: DecisionKind = DecisionKind.HELD) -> CheckOutcome:
        """Record that the active configuration stays (held, or `kind`: skipped)."""
        return self._record(kind, reason, self.configuration_id)

    def hold_for(self, live: Rollout) -> CheckOutcome:
        """Record `held`: no second move while a rollout takes live traffic."""
        what = (
            f"online A/B {live.id} of prompt variants is {live.status}, the variants at"
            if live.kind == "ab"
            else f"rollout {live.id} to {live.to_phase} is {live.status} at"
        )
        return self.hold(
            f"{what} {live.weight:.3g} % of live traffic "
            f"(`phasegate rollout status {self.ctx.name}`)"
        )

    def baseline(
        self, reason: str, online: dict[str, dict[str, int]] | None = None
    ) -> CheckOutcome:
        """Record a new use case's first configuration (the candidate) as active.

        With `online` variants (arm name → its `configuration_id` and `eval_run_id`), an A/B of
        them against it starts in the same commit: by default every arm gets an equal share of
        routing keys. Their eval runs go with the A/B, so that the winner's decision has one.
        """
        if not online:
            return self._record(DecisionKind.BASELINED, reason, self._candidate_id())
        ab = self.ctx.spec.rollout.ab
        weight = ab.weight or 100.0 * len(online) / (len(online) + 1)
        step = RolloutStep(
            weight=weight, min_interactions=ab.min_interactions, max_duration=ab.max_duration
        )
        rollout = RolloutDraft(
            to_phase=Phase.PROMPTING,
            canaries={name: arm["configuration_id"] for name, arm in online.items()},
            steps=[step],
            live_metrics=self.ctx.spec.rollout.live_metrics,
            kind="ab",
            evidence={"variant_eval_run_ids": [arm["eval_run_id"] for arm in online.values()]},
        )
        return self._record(
            DecisionKind.BASELINED,
            f"{reason}; online A/B of {len(online) + 1} arms",
            self._candidate_id(),
            rollout=rollout,
        )

    def advance(
        self, reason: str, *, by: str = "phasegate", approval: str | None = None
    ) -> CheckOutcome:
        """Record the move: the candidate becomes active, or starts its rollout (spec's steps)."""
        steps = self.ctx.spec.rollout.steps
        if not steps or self.at_once or self._candidate_id() in (None, self.configuration_id):
            return self._record(
                DecisionKind.ADVANCED,
                reason,
                self._candidate_id(),
                decided_by=by,
                approval=approval,
            )
        rollout = RolloutDraft(
            to_phase=self.to_phase,
            canaries={"canary": self._candidate_id()},
            steps=steps,
            live_metrics=self.ctx.spec.rollout.live_metrics,
            started_by=by,
        )
        return self._record(
            DecisionKind.ROLLING_OUT,
            f"{reason}; rollout at {steps[0].weight:g} % of live traffic",
            self.configuration_id,
            decided_by=by,
            approval=approval,
            rollout=rollout,
        )

    def answer(self, answer: ApprovalInput) -> CheckOutcome:
        """Record a person's answer: advanced when approved, rejected otherwise."""
        self.gates.append(
            APPROVAL.result(
                GateStatus.PASS if answer.approve else GateStatus.FAIL,
                answer.reason,
                observed=answer.approver,
                threshold="a person's approval",
            )
        )
        if answer.approve:
            return self.advance(answer.reason, by=answer.approver, approval="approved")
        return self._record(
            DecisionKind.REJECTED,
            answer.reason,
            self.configuration_id,
            decided_by=answer.approver,
            approval="rejected",
        )

    def expire(self, reason: str) -> CheckOutcome:
        """Record that the approval window closed with no answer; the phase stays."""
        return self._record(
            DecisionKind.EXPIRED,
            reason,
            self.configuration_id,
            decided_by="timeout",
            approval="expired",
        )

    def store_scored(self) -> None:
        """Store what the check kept for its decision ahead of it (an approval request or a
        hand-off names the candidate); the draft's runs under their stored ids."""
        stored = self.ctx.store_unstored()
        self.active, self.candidate = (
            as_stored(self.active, stored),
            as_stored(self.candidate, stored),
        )

    def _candidate_id(self) -> int | None:
        return self.candidate.configuration_id if self.candidate else None

    def _record(
        self,
        kind: DecisionKind,
        reason: str,
        configuration_id: int | None,
        *,
        decided_by: str = "phasegate",
        approval: str | None = None,
        rollout: RolloutDraft | None = None,
    ) -> CheckOutcome:
        return record(
            self.ctx,
            kind,
            self.to_phase,
            reason,
            gates=self.gates,
            active=self.active,
            candidate=self.candidate,
            configuration_id=configuration_id,
            decided_by=decided_by,
            approval_status=approval,
            rollout=rollout,
            run_id=self.run_id,
        )
