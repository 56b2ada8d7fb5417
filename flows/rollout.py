"""The rollout flow: analyse a use case's live rollout once, then promote, abort, wait or ask.

Its state lives in the store (step, status, when the step started), so each run — on the
`rollout` deployment's schedule, or `phasegate rollout status` — reads where the rollout is
and goes on from there: a crashed run loses nothing, the next resumes at the same step. A
step that asks a person pauses this run with a form (promote or abort); the rollout stays
paused, and later runs leave it alone, until someone answers (the UI form or
`phasegate rollout promote|abort`).
"""

import time
from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Completed, State

from flows.context import current_run_id
from flows.labels import rollout_run_name, rollouts_run_name
from state.domain import GateResult, Rollout
from state.errors import NotFound
from state.settings import get_settings
from state.store_api import Store
from tasks import events
from tasks.rollout_analysis import analyse, decide
from tasks.rollout_answers import (
    RolloutAnswer,
    answer_paused,
    ask_person,
    hand_off_rollout,
    is_waiting,
)
from tasks.rollout_moves import Action, Move

ANSWER_WAIT_SECONDS = 20


def step_name(rollout: Rollout) -> str:
    """The state name of a live step: `Canary 10 %`, `A/B of 3 arms`."""
    return rollout.label[0].upper() + rollout.label[1:]


@flow(name="roll-out", flow_run_name=rollout_run_name)
def roll_out(use_case: str, ask: bool = True, poll_seconds: int = 2) -> State:
    """Analyse a use case's live rollout once: promote, abort, wait, or ask a person."""
    settings = get_settings()
    store = Store(settings.store_url)
    rollout, seen = store.step_observations(use_case)
    if rollout is None:
        return Completed(name="No Rollout", message=f"{use_case} has no live rollout")
    if rollout.status == "paused":
        if ask and not is_waiting(rollout.flow_run_id):
            # Nobody's form is open (the asking run did not wait, or died): this run asks.
            return _ask(store, rollout, analyse(rollout, seen), rollout.reason, poll_seconds)
        return Completed(name="Awaiting Person", message=rollout.reason)
    results = analyse(rollout, seen)
    elapsed = (datetime.now(UTC) - rollout.step_started_at).total_seconds()
    move = decide(rollout, seen, results, elapsed * settings.rollout_time_scale)
    _publish(rollout, results, f"{move.action}: {move.reason}")
    get_run_logger().info("%s: rollout %d %s (%s)", use_case, rollout.id, move.action, move.reason)
    if move.action == Action.WAIT:
        return Completed(name=step_name(rollout), message=move.reason)
    if move.action == Action.DROP:
        return drop(store, rollout, move, results)
    if move.action != Action.ASK:
        arm = move.arms[0] if move.arms else None
        run_id = current_run_id()
        return apply(store, rollout, move.action, move.reason, results, run_id=run_id, arm=arm)
    # Told once: the run that pauses the rollout emits; later runs see it paused.
    paused = _pause(store, rollout, move.reason)
    events.emit_rollout(events.ROLLOUT_STEP, use_case, _payload(paused, "paused", move.reason))
    if not ask:
        return Completed(name="Awaiting Person", message=move.reason)
    return _ask(store, paused, results, move.reason, poll_seconds)


def _pause(store: Store, rollout: Rollout, reason: str) -> Rollout:
    """Mark the rollout paused, asked by this flow run."""
    return store.move_rollout(
        rollout.id,
        "ask",
        expected_version=rollout.version,
        reason=reason,
        gates=[],
        flow_run_id=current_run_id(),
    ).rollout


def _ask(
    store: Store, rollout: Rollout, results: list[GateResult], reason: str, poll_seconds: int
) -> State:
    """Pause this run with the form until a person promotes or aborts (or the window closes)."""
    if rollout.flow_run_id != current_run_id():
        rollout = _pause(store, rollout, reason)
    spec = store.require_use_case(rollout.use_case).spec
    timeout = spec.approval.timeout_seconds
    # Told once per form: before the pause, whose polling sends nothing.
    _announce_wait(rollout, reason, current_run_id(), "answer the form of this flow run")
    answer = ask_person(_form_text(rollout, results, reason), timeout, poll_seconds)
    if answer is None:
        return Completed(name="Awaiting Person", message=f"no answer within {timeout} s")
    action = Action.PROMOTE if answer.promote else Action.ABORT
    arm = answer.arm or None
    if answer.promote and rollout.kind == "ab" and arm not in {a.name for a in rollout.serving}:
        how = f"`phasegate rollout promote {rollout.use_case} --arm ARM`"
        return Completed(name="Awaiting Person", message=f"the answer named no arm ({arm}): {how}")
    return apply(
        store,
        rollout,
        action,
        answer.reason,
        results,
        by=answer.person,
        run_id=current_run_id(),
        arm=arm,
    )


@flow(name="roll-outs", flow_run_name=rollouts_run_name)
def roll_out_all() -> dict[str, str]:
    """Analyse every live rollout once; hand a rollout that asks a person to its own run.

    With the `rollout` deployment, a paused rollout gets a run of it that shows the form in the
    Prefect UI; without it, a person answers with `phasegate rollout promote|abort`.
    """
    store = Store(get_settings().store_url)
    outcomes: dict[str, str] = {}
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        for use_case in store.list_use_cases():
            live = store.get_live_rollout(use_case.name)
            if live is None:
                continue
            state = roll_out(use_case.name, ask=False, return_state=True)
            outcomes[use_case.name] = state.name or state.type.value
            if state.name == "Awaiting Person":
                paused = store.get_live_rollout(use_case.name)
                asked = hand_off_rollout(use_case.name, paused)
                if asked is None and paused is not None and live.status != "paused":
                    # No run shows a form (no rollout deployment): tell people at the pause.
                    run_id = paused.flow_run_id or current_run_id()
                    how = f"phasegate rollout promote|abort {use_case.name} --reason ..."
                    _announce_wait(paused, state.message or "", run_id, how)
    get_run_logger().info("rollouts: %s", outcomes)
    return outcomes


def apply(
    store: Store,
    rollout: Rollout,
    action: Action,
    reason: str,
    gates: list[GateResult],
    *,
    by: str = "phasegate",
    run_id: str | None = None,
    arm: str | None = None,
) -> State:
    """Promote or abort (recording `advanced` or `rolled_back` at the end), emit the event.

    `run_id` is the flow run recorded with a decision (None: a person at the CLI); `arm` is
    an A/B's winner, which becomes the baseline (`baselined`).
    """
    result = store.move_rollout(
        rollout.id,
        "promote" if action == Action.PROMOTE else "abort",
        expected_version=rollout.version,
        reason=reason,
        gates=gates,
        decided_by=by,
        flow_run_id=run_id,
        arm=arm,
    )
    moved = result.rollout
    if result.decision is not None:
        events.emit_decision_recorded(result.decision, run_id)
    name = {"promoted": "Promoted", "aborted": "Aborted"}.get(moved.status, step_name(moved))
    event = {
        "promoted": events.ROLLOUT_PROMOTED,
        "aborted": events.ROLLOUT_ABORTED,
    }.get(moved.status, events.ROLLOUT_STEP)
    payload = _payload(moved, moved.status, reason, by) | ({"winner": arm} if arm else {})
    sent = events.emit_rollout(event, rollout.use_case, payload)
    return Completed(name=name, message=f"{reason} (event {event} {sent})")


def drop(store: Store, rollout: Rollout, move: Move, gates: list[GateResult]) -> State:
    """Drop an A/B's worse variants: each a new step whose split serves their keys the control.

    With no variant left, the control wins at once (`apply`).
    """
    for arm in move.arms:
        rollout = store.move_rollout(
            rollout.id,
            "drop",
            expected_version=rollout.version,
            reason=move.reason,
            gates=gates,
            arm=arm,
        ).rollout
    payload = _payload(rollout, "dropped", move.reason) | {"dropped_now": list(move.arms)}
    sent = events.emit_rollout(events.ROLLOUT_STEP, rollout.use_case, payload)
    if len(rollout.serving) == 1:  # no variant left: the control wins now
        why = f"every variant was dropped ({move.reason})"
        control = rollout.arms[0].name
        return apply(
            store, rollout, Action.PROMOTE, why, gates, run_id=current_run_id(), arm=control
        )
    return Completed(
        name=step_name(rollout),
        message=f"dropped {', '.join(move.arms)}: {move.reason} (event {sent})",
    )


def _announce_wait(rollout: Rollout, reason: str, run_id: str, how: str) -> None:
    """Emit `phasegate.approval.requested` for a rollout step that asks a person."""
    events.emit_approval_requested(
        rollout.use_case,
        key=f"rollout-{rollout.id}-step-{rollout.step}",
        flow_run_id=run_id,
        move=rollout.label,
        payload={
            "kind": "rollout",
            "rollout_id": rollout.id,
            "step": rollout.step,
            "weight": rollout.weight,
            "why": reason,
            "how": how,
        },
    )


def _payload(rollout: Rollout, status: str, reason: str, by: str = "phasegate") -> dict:
    return {
        "rollout_id": rollout.id,
        "kind": rollout.kind,
        "status": status,
        "step": rollout.step,
        "weight": rollout.weight,
        "canary_configuration_id": rollout.canary.configuration_id,
        "control_configuration_id": rollout.arms[0].configuration_id,
        "arms": [
            {"name": a.name, "configuration_id": a.configuration_id, "weight": w}
            for a, w in zip(rollout.arms, rollout.weights, strict=True)
        ],
        "dropped": rollout.dropped,
        "reason": reason,
        "decided_by": by,
    }


def _table(results: list[GateResult]) -> str:
    rows = [f"| {r.check} | {r.status} | {r.observed} | {r.detail} |" for r in results]
    return "\n".join(["| check | status | observed | detail |", "| --- | --- | --- | --- |", *rows])


def _form_text(rollout: Rollout, results: list[GateResult], reason: str) -> str:
    if rollout.kind == "ab":
        arms = ", ".join(a.name for a in rollout.serving)
        how = f"Promote and name the winning arm ({arms}): it becomes the baseline"
    else:
        how = "Promote to move the canary on (the last step makes it active)"
    return (
        f"Rollout {rollout.id} of `{rollout.use_case}` ({rollout.label}) asks a person: "
        f"{reason}\n\n{_table(results)}\n\n{how}; leave it unticked to abort and keep the "
        "control."
    )


def _publish(rollout: Rollout, results: list[GateResult], outcome: str) -> None:
    title = f"# Rollout {rollout.id}: {rollout.label}"
    create_markdown_artifact(
        key=f"rollout-{rollout.use_case}",
        markdown=f"{title}\n\n{outcome}\n\n{_table(results)}",
        description=f"live analysis of {rollout.use_case}",
    )


def answer_rollout(
    use_case: str, *, promote: bool, reason: str, person: str, arm: str | None = None
) -> Rollout:
    """A person's promote or abort: answers the paused run's form, else moves the rollout here.

    `arm` names an A/B's winner. Raises NotFound when the use case has no live rollout.
    Returns the rollout afterwards.
    """
    store = Store(get_settings().store_url)
    live = store.get_live_rollout(use_case)
    if live is None:
        raise NotFound(f"{use_case}: no live rollout (`phasegate history {use_case}`)")
    answer = RolloutAnswer(promote=promote, reason=reason, person=person, arm=arm or "")
    if live.status == "paused" and live.flow_run_id and answer_paused(live.flow_run_id, answer):
        # The paused run records the answer; wait for it, as `phasegate approve` does.
        deadline = time.monotonic() + ANSWER_WAIT_SECONDS
        while time.monotonic() < deadline:
            if (now := store.get_rollout(live.id)).version != live.version:
                return now
            time.sleep(0.2)
        # The asking run died with its process: move the rollout here. The version guard
        # keeps one answer if that run wakes up after all.
    _, seen = store.step_observations(use_case)
    action = Action.PROMOTE if promote else Action.ABORT
    apply(store, live, action, reason, analyse(live, seen), by=person, arm=arm)
    return store.get_rollout(live.id)
