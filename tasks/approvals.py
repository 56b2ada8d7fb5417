"""Approvals in the Prefect UI: the input form, the pause, and resuming a paused check.

The CLI (`phasegate approve|reject`) and the Prefect UI take the same path: both resume the
paused flow run with an `ApprovalInput`, which the server validates against the form's schema.

A pause that times out would fail the run (the server refuses any other exit from an expired
pause), so on a timeout `ask_for_approval` forces the run back to Running: the check then
records `expired` and ends in a named Completed state, "Expired".
"""

from collections.abc import Sequence
from typing import Literal
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import FlowPauseTimeout, NotPausedError, ObjectNotFound
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Running
from pydantic import Field, ValidationError, create_model

from state.errors import ApprovalError

# The deployment of prefect.yaml that runs one check; a check handed over runs there.
CHECK_DEPLOYMENT = "check-phase/phase-check"
# At least one character that is not white space (JSON Schema patterns search, unanchored).
NOT_BLANK = r"\S"


class ApprovalInput(RunInput):
    """The approver's answer: approve or reject, why, and who (reason and name required)."""

    approve: bool = Field(
        False, description="Tick to approve the move to the next phase; leave it to reject."
    )
    reason: str = Field(
        min_length=1,
        max_length=2000,
        pattern=NOT_BLANK,
        description="Why you approve or reject; kept with the decision (`phasegate history`).",
    )
    approver: str = Field(
        min_length=1,
        max_length=200,
        pattern=NOT_BLANK,
        description="Your name, recorded as who decided.",
    )


def approval_form(description: str, approvers: Sequence[str] = ()) -> type[ApprovalInput]:
    """The form a paused check shows: the gate report above the fields, no field pre-filled.

    With an allow-list the approver field takes only its names: the server refuses any other
    name (the form says why) and the run stays paused.
    """
    form = ApprovalInput
    if approvers:
        names = ", ".join(approvers)
        form = create_model(
            ApprovalInput.__name__,
            __base__=ApprovalInput,
            __doc__=ApprovalInput.__doc__,
            approver=(
                Literal[tuple(approvers)],
                Field(description=f"Your name: one of the approvers of this use case ({names})."),
            ),
        )
    # Initial data would replace each field's constraints and description: only the text.
    return form.with_initial_data(description=description)


def ask_for_approval(
    description: str, timeout_seconds: int, poll_seconds: int, approvers: Sequence[str] = ()
) -> ApprovalInput | None:
    """Pause the current flow run until a person answers the form; None when nobody did."""
    form = approval_form(description, approvers)
    try:
        return pause_flow_run(
            wait_for_input=form, timeout=timeout_seconds, poll_interval=poll_seconds
        )
    except FlowPauseTimeout:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(flow_run.id, Running(), force=True)
        return None


def give_answer(flow_run_id: str, *, approve: bool, reason: str, approver: str) -> None:
    """Resume a paused check with an answer, as the UI form does; errors are ApprovalError."""
    try:
        answer = ApprovalInput(approve=approve, reason=reason, approver=approver)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ApprovalError(f"{field}: {first['msg']}") from exc
    try:
        resume_flow_run(UUID(flow_run_id), run_input=answer.model_dump())
    except (NotPausedError, ObjectNotFound) as exc:
        raise ApprovalError(f"flow run {flow_run_id} is not waiting for approval") from exc
    except FlowPauseTimeout as exc:
        raise ApprovalError(f"flow run {flow_run_id}: the approval window has closed") from exc
    except RuntimeError as exc:  # the server refused the input (e.g. a name off the allow-list)
        raise ApprovalError(f"flow run {flow_run_id} refused the answer: {exc}") from exc


def check_deployment() -> UUID | None:
    """The id of the `phase-check` deployment on the Prefect API, or None where there is none."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(CHECK_DEPLOYMENT).id
        except ObjectNotFound:
            return None


def hand_off_check(deployment_id: UUID, use_case: str, *, auto_approve: bool = False) -> str:
    """Start a check of `use_case` on the deployment, without waiting; returns its run's name.

    That run repeats the check (its evals are cached) and pauses for the approval in its own
    process, so a sweep does not wait on a person. `auto_approve` is passed on when set.
    """
    parameters: dict[str, object] = {"use_case": use_case}
    if auto_approve:
        parameters["auto_approve"] = True
    run = run_deployment(deployment_id, parameters=parameters, timeout=0)
    return run.name
