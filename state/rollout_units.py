"""Units of work of a rollout: start it with the check's decision, read a step, move it.

Each function takes the session as a keyword and does several store functions in it, so
that `Store` runs them as one transaction: a rollout that ends records its decision (and the
activation it carries) in the same commit, or neither.
"""

from sqlmodel import Session

from state import check_units, configurations, decisions, interactions, rollouts, use_cases
from state.domain.decisions import Decision, DecisionDraft, GateResult
from state.domain.intake import Observation
from state.domain.rollouts import Arm, Rollout, RolloutAction, RolloutDraft, RolloutMoved
from state.errors import Conflict, InputError, NotFound
from state.phases import DecisionKind, Phase


def start_rollout_for_check(
    use_case: str,
    decision: DecisionDraft,
    draft: RolloutDraft,
    *,
    approval_status: str | None,
    session: Session,
    lease_holder: str | None = None,
    expected_version: int = 0,
) -> tuple[Decision, Rollout]:
    """Record the check's decision (and its approval) and start its rollout.

    A `rolling_out` decision keeps the active configuration as the control; a `baselined` one
    (an online A/B) first makes its configuration active, guarded by `expected_version`.
    Raises Conflict when the active configuration is no longer the one the check measured,
    LeaseLost when `lease_holder` no longer holds the use case's lease.
    """
    active = use_cases.require_use_case(use_case, session=session).active_configuration_id
    if not decision.changes_activation and active != decision.configuration_id:
        raise Conflict(
            f"use case {use_case!r} changed while this check ran (active configuration "
            f"{active}, measured {decision.configuration_id}); nothing was recorded"
        )
    recorded = check_units.record_check(
        use_case,
        decision,
        expected_version=expected_version,
        approval_status=approval_status,
        session=session,
        lease_holder=lease_holder,
    )
    evidence = draft.evidence | {
        "decision_id": recorded.id,
        "eval_run_ids": recorded.eval_run_ids,
        "check_flow_run_id": recorded.flow_run_id,
    }
    draft = draft.model_copy(update={"evidence": evidence})
    return recorded, rollouts.start_rollout(use_case, draft, session=session)


def step_observations(
    use_case: str, *, session: Session
) -> tuple[Rollout | None, list[Observation]]:
    """The live rollout and the interactions its arms served since its step started."""
    rollout = rollouts.get_live_rollout(use_case, session=session)
    if rollout is None:
        return None, []
    ids = [arm.configuration_id for arm in rollout.arms]
    seen = interactions.observations(use_case, ids, since=rollout.step_started_at, session=session)
    return rollout, seen


def move_rollout(
    rollout_id: int,
    action: RolloutAction,
    *,
    expected_version: int,
    reason: str,
    gates: list[GateResult],
    decided_by: str = "phasegate",
    flow_run_id: str | None = None,
    arm: str | None = None,
    session: Session,
) -> RolloutMoved:
    """Promote (next step, or 100 %: the canary becomes active), abort, ask, resume or drop.

    Promoting the last step records `advanced` and aborting records `rolled_back` (the control
    stays active), each with the rollout's eval runs and `gates`. An A/B drops `arm` (a new
    step without it) or promotes its winner `arm`, which becomes the baseline (`baselined`).
    Raises Conflict when the rollout ended or moved since `expected_version`, InputError when
    `arm` is missing or not an arm the move can take.
    """
    rollout = rollouts.get_rollout(rollout_id, session=session)
    if rollout is None:
        raise NotFound(f"unknown rollout: {rollout_id}")
    change = {"expected_version": expected_version, "reason": reason, "session": session}
    if rollout.kind == "ab" and action in ("promote", "drop"):
        return _move_ab(
            rollout, action, _ab_arm(rollout, action, arm), gates, decided_by, flow_run_id, change
        )
    if action == "ask":
        moved = rollouts.change_rollout(
            rollout_id, status="paused", flow_run_id=flow_run_id, **change
        )
        return RolloutMoved(rollout=moved)
    if action == "resume" or (action == "promote" and not rollout.last_step):
        step = rollout.step + (action == "promote")
        moved = rollouts.change_rollout(rollout_id, status="running", step=step, **change)
        return RolloutMoved(rollout=moved)
    promoted = action == "promote"
    moved = rollouts.change_rollout(
        rollout_id, status="promoted" if promoted else "aborted", **change
    )
    chosen = rollout.canary if promoted else rollout.arms[0]
    draft = DecisionDraft(
        kind=DecisionKind.ADVANCED if promoted else DecisionKind.ROLLED_BACK,
        to_phase=rollout.to_phase if promoted else _phase_of(chosen.configuration_id, session),
        configuration_id=chosen.configuration_id,
        candidate_configuration_id=rollout.canary.configuration_id,
        decided_by=decided_by,
        reason=f"rollout {rollout.id} at {rollout.weight:g} %: {reason}",
        flow_run_id=flow_run_id,
        eval_run_ids=list(rollout.evidence.get("eval_run_ids", [])),
        gate_results=gates,
    )
    version = use_cases.require_use_case(rollout.use_case, session=session).version
    decision = decisions.record_decision(
        rollout.use_case, draft, expected_version=version, session=session
    )
    return RolloutMoved(rollout=moved, decision=decision)


def _ab_arm(rollout: Rollout, action: RolloutAction, arm: str | None) -> Arm:
    """The arm an A/B move names: still served, and no control to drop."""
    served = {a.name: a for a in rollout.serving}
    if arm is None:
        raise InputError(
            f"rollout {rollout.id} is an A/B: name the arm to {action} ({', '.join(served)})"
        )
    if arm not in served or (action == "drop" and served[arm].position == 0):
        raise InputError(
            f"arm: {arm!r} is not an arm rollout {rollout.id} can {action} ({', '.join(served)})"
        )
    return served[arm]


def _move_ab(
    rollout: Rollout,
    action: RolloutAction,
    arm: Arm,
    gates: list[GateResult],
    decided_by: str,
    flow_run_id: str | None,
    change: dict,
) -> RolloutMoved:
    """Drop an A/B arm (a new step whose split leaves it out) or make its winner the baseline."""
    session = change["session"]
    if action == "drop":
        current = rollout.steps[rollout.step]
        step = current.model_copy(update={"dropped": [*current.dropped, arm.name]})
        steps = [s.model_dump(mode="json") for s in rollout.steps[: rollout.step + 1]]
        moved = rollouts.change_rollout(
            rollout.id,
            status="running",
            step=rollout.step + 1,
            steps=[*steps, step.model_dump(mode="json")],
            **change,
        )
        return RolloutMoved(rollout=moved)
    moved = rollouts.change_rollout(rollout.id, status="promoted", **change)
    draft = DecisionDraft(
        kind=DecisionKind.BASELINED,
        to_phase=rollout.to_phase,
        configuration_id=arm.configuration_id,
        candidate_configuration_id=arm.configuration_id,
        decided_by=decided_by,
        reason=f"A/B {rollout.id}: {arm.name} wins: {change['reason']}",
        flow_run_id=flow_run_id,
        # The offline runs of the control and every variant: monitoring reads the winner's.
        eval_run_ids=[
            *rollout.evidence.get("eval_run_ids", []),
            *rollout.evidence.get("variant_eval_run_ids", []),
        ],
        gate_results=gates,
    )
    version = use_cases.require_use_case(rollout.use_case, session=session).version
    decision = decisions.record_decision(
        rollout.use_case, draft, expected_version=version, session=session
    )
    return RolloutMoved(rollout=moved, decision=decision)


def _phase_of(configuration_id: int, session: Session) -> Phase:
    return configurations.get_configuration(configuration_id, session=session).phase
