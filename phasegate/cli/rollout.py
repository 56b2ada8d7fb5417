"""`phasegate rollout status|analyse|promote|abort`: a use case's rollout, and a person's answer."""

import os
from typing import Annotated

import typer

from phasegate.cli.app import AsJson, app, console, print_json, store

rollout_app = typer.Typer(help="Live traffic in steps (docs/rollouts.md).", no_args_is_help=True)
app.add_typer(rollout_app, name="rollout")

UseCase = Annotated[str, typer.Argument(help="a registered use case")]
Reason = Annotated[str, typer.Option("--reason", help="why (kept with the decision)")]
Person = Annotated[str | None, typer.Option("--as", help="who decides (default: $USER)")]
ArmName = Annotated[
    str | None, typer.Option("--arm", help="an A/B's winning arm (required for an A/B)")
]


def _document(use_case: str, rollout, checks, decision, outcome: str | None = None):
    """The `--json` document of a rollout command."""
    from phasegate.cli import outputs, records

    record = None
    if rollout is not None:
        record = outputs.RolloutRecord(
            **rollout.model_dump(
                include=set(outputs.RolloutRecord.model_fields) - {"weight", "steps", "arms"}
            ),
            weight=rollout.weight,
            steps=[s.model_dump(mode="json") for s in rollout.steps],
            arms=[
                outputs.RolloutArm(
                    name=a.name,
                    configuration_id=a.configuration_id,
                    weight=rollout.weights[a.position],
                    dropped=a.name in rollout.dropped,
                )
                for a in rollout.arms
            ],
        )
    return outputs.RolloutOutput(
        use_case=use_case,
        rollout=record,
        checks=[records.gate(g) for g in checks],
        decision=records.decision(decision) if decision else None,
        outcome=outcome,
    )


def _show(document) -> None:
    rollout = document.rollout
    if rollout is None:
        console.print(f"{document.use_case}: no rollout")
        return
    if rollout.kind == "ab":
        where = f"A/B of {len(rollout.arms)} arms"  # the arms line names the dropped ones
    else:
        where = f"at {rollout.weight:g} %"
        if rollout.status == "promoted":
            where = f"to 100 % after {rollout.weight:g} %"
        where += f" (step {rollout.step + 1} of {len(rollout.steps)})"
    console.print(
        f"{document.use_case}: rollout {rollout.id} to {rollout.to_phase} {rollout.status} "
        f"{where}" + (f" — {rollout.reason}" if rollout.reason else ""),
        markup=False,
    )
    if rollout.kind == "ab":
        _show_arms(rollout, document.checks)
    for check in document.checks:
        console.print(f"  {check.check}: {check.status} — {check.detail}", markup=False)
    if document.decision is not None:
        console.print(f"decision: {document.decision.kind}", markup=False)


def _show_arms(rollout, checks) -> None:
    """An A/B's per-arm table: share, n, mean of the primary metric, interval, verdict."""
    table = next((c for c in checks if c.check == "live_ab_arms"), None)
    if table is None:  # no analysis shown (an ended A/B, `analyse`): the arms and shares
        shares = [
            f"{a.name} {'dropped' if a.dropped else f'{a.weight:.1f} %'}" for a in rollout.arms
        ]
        console.print(f"  arms: {', '.join(shares)}", markup=False)
        return
    rows = {row["name"]: row for row in table.evidence["arms"]}
    comparisons = table.evidence["comparisons"]
    console.print(
        f"  α {table.evidence['alpha']:g} split over {comparisons} "
        f"comparison{'s' if comparisons != 1 else ''}: {table.evidence['alpha_each']:.4g} each",
        markup=False,
    )
    console.print("  arm  share  n  mean  − control  verdict", markup=False)
    for arm in rollout.arms:
        row = rows.get(arm.name, {})
        mean = f"{row['mean']:.3f}" if row.get("mean") is not None else "–"
        low, high = row.get("low"), row.get("high")
        interval = f"[{low:+.3f}, {high:+.3f}]" if low is not None else "–"
        verdict = "dropped" if arm.dropped else row.get("verdict", "–")
        console.print(
            f"  {arm.name}  {arm.weight:.1f} %  {row.get('n', 0)}  {mean}  {interval}  {verdict}",
            markup=False,
        )


@rollout_app.command("status")
def rollout_status(use_case: UseCase, as_json: AsJson = False) -> None:
    """Show the live rollout (else the latest) and its live checks now; changes nothing."""
    from flows.rollout import analyse

    reading = store()
    live, seen = reading.step_observations(use_case)
    rollout = live or next(reversed(reading.list_rollouts(use_case)), None)
    checks = analyse(live, seen) if live else []
    document = _document(use_case, rollout, checks, None)
    if as_json:
        print_json(document)
    else:
        _show(document)


@rollout_app.command("analyse")
def rollout_analyse(use_case: UseCase, as_json: AsJson = False) -> None:
    """Run the roll-out flow once now: promote, abort, wait, or pause for a person."""
    from flows.rollout import roll_out
    from phasegate.temporary_api import prefect_api

    reading = store()
    if reading.get_live_rollout(use_case) is None:  # before any Prefect API starts
        _no_live_rollout(use_case)
    with prefect_api():
        state = roll_out(use_case, ask=False, return_state=True)
    if state.is_failed():
        state.result()  # raises what failed the run: its exit code follows the error tree
    rollout = reading.list_rollouts(use_case)[-1]
    decision = reading.list_decisions(use_case, limit=1)[-1] if rollout.ended_at else None
    document = _document(use_case, rollout, [], decision, state.name)
    if as_json:
        print_json(document)
        return
    console.print(f"{use_case}: {state.name} — {state.message}", markup=False)
    _show(document)


def _no_live_rollout(use_case: str) -> None:
    from state.errors import NotFound

    raise NotFound(f"{use_case}: no live rollout (`phasegate rollout status {use_case}`)")


def _answer(
    use_case: str,
    promote: bool,
    reason: str,
    person: str | None,
    as_json: bool,
    arm: str | None = None,
) -> None:
    from flows.rollout import answer_rollout
    from phasegate.temporary_api import prefect_api
    from state.errors import InputError

    if not reason.strip():
        raise InputError("--reason: must say why")
    live = store().get_live_rollout(use_case)
    if live is None:  # before any Prefect API starts
        _no_live_rollout(use_case)
    _check_arm(live, promote, arm)
    who = person or os.environ.get("USER") or "cli"
    with prefect_api():
        rollout = answer_rollout(use_case, promote=promote, reason=reason, person=who, arm=arm)
    decision = None
    if rollout.ended_at is not None:
        decision = store().list_decisions(use_case, limit=1)[-1]
    document = _document(use_case, rollout, [], decision)
    if as_json:
        print_json(document)
    else:
        _show(document)


def _check_arm(live, promote: bool, arm: str | None) -> None:
    """An A/B's promote names a served arm; a canary's takes none (InputError, exit 2)."""
    from state.errors import InputError

    served = [a.name for a in live.serving]
    if live.kind != "ab" or not promote:
        if arm is not None:
            raise InputError(f"--arm: only promoting an A/B names an arm (rollout {live.id})")
        return
    if arm not in served:
        said = "name the winning arm" if arm is None else f"{arm!r} is not an arm it serves"
        raise InputError(
            f"--arm: rollout {live.id} is an A/B: {said} ({', '.join(served)}); nothing changed"
        )


@rollout_app.command("promote")
def rollout_promote(
    use_case: UseCase,
    reason: Reason,
    person: Person = None,
    arm: ArmName = None,
    as_json: AsJson = False,
) -> None:
    """Promote the canary now (next step, or 100 %), or an A/B's `--arm`: the new baseline."""
    _answer(use_case, True, reason, person, as_json, arm)


@rollout_app.command("abort")
def rollout_abort(
    use_case: UseCase, reason: Reason, person: Person = None, as_json: AsJson = False
) -> None:
    """Abort the rollout: the control keeps all traffic; recorded as `rolled_back`."""
    _answer(use_case, False, reason, person, as_json)
