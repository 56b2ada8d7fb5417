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
            arms=[outputs.RolloutArm(**a.model_dump(exclude={"position"})) for a in rollout.arms],
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
    where = f"at {rollout.weight:g} %"
    if rollout.status == "promoted":
        where = f"to 100 % after {rollout.weight:g} %"
    console.print(
        f"{document.use_case}: rollout {rollout.id} to {rollout.to_phase} {rollout.status} "
        f"{where} (step {rollout.step + 1} of {len(rollout.steps)})"
        + (f" — {rollout.reason}" if rollout.reason else ""),
        markup=False,
    )
    for check in document.checks:
        console.print(f"  {check.check}: {check.status} — {check.detail}", markup=False)
    if document.decision is not None:
        console.print(f"decision: {document.decision.kind}", markup=False)


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


def _answer(use_case: str, promote: bool, reason: str, person: str | None, as_json: bool) -> None:
    from flows.rollout import answer_rollout
    from phasegate.temporary_api import prefect_api
    from state.errors import InputError

    if not reason.strip():
        raise InputError("--reason: must say why")
    if store().get_live_rollout(use_case) is None:  # before any Prefect API starts
        _no_live_rollout(use_case)
    who = person or os.environ.get("USER") or "cli"
    with prefect_api():
        rollout = answer_rollout(use_case, promote=promote, reason=reason, person=who)
    decision = None
    if rollout.ended_at is not None:
        decision = store().list_decisions(use_case, limit=1)[-1]
    document = _document(use_case, rollout, [], decision)
    if as_json:
        print_json(document)
    else:
        _show(document)


@rollout_app.command("promote")
def rollout_promote(
    use_case: UseCase, reason: Reason, person: Person = None, as_json: AsJson = False
) -> None:
    """Promote the canary now: the next step, or 100 % (it becomes active)."""
    _answer(use_case, True, reason, person, as_json)


@rollout_app.command("abort")
def rollout_abort(
    use_case: UseCase, reason: Reason, person: Person = None, as_json: AsJson = False
) -> None:
    """Abort the rollout: the control keeps all traffic; recorded as `rolled_back`."""
    _answer(use_case, False, reason, person, as_json)
