"""A person's answer to a paused rollout: the UI form, the pause, and resuming from the CLI.

Like approvals (`tasks/approvals.py`): the rollout flow pauses with a typed form; the Prefect
UI and `phasegate rollout promote|abort` resume it with the same input, which the server
validates against the form's schema. A pause nobody answers in time leaves the rollout
paused (the run ends "Awaiting Person"); a person may still answer later from the CLI.
"""

from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import FlowPauseTimeout, NotPausedError, ObjectNotFound
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Running
from pydantic import Field

from state.domain import Rollout

NOT_BLANK = r"\S"
# The deployment of prefect.yaml that analyses one rollout and shows the form when it asks.
ROLLOUT_DEPLOYMENT = "roll-out/rollout"


class RolloutAnswer(RunInput):
    """A person's answer: promote the canary (next step, or 100 %) or abort, why, and who."""

    promote: bool = Field(
        False, description="Tick to promote the canary; leave it to abort (control restored)."
    )
    reason: str = Field(
        min_length=1,
        max_length=2000,
        pattern=NOT_BLANK,
        description="Why; kept with the rollout and its decision.",
    )
    person: str = Field(
        min_length=1, max_length=200, pattern=NOT_BLANK, description="Your name, recorded."
    )
    arm: str = Field(
        "", max_length=63, description="An A/B only: the arm that wins and becomes the baseline."
    )


def ask_person(description: str, timeout_seconds: int, poll_seconds: int) -> RolloutAnswer | None:
    """Pause the current flow run until a person answers the form; None when nobody did."""
    form = RolloutAnswer.with_initial_data(description=description)
    try:
        return pause_flow_run(
            wait_for_input=form, timeout=timeout_seconds, poll_interval=poll_seconds
        )
    except FlowPauseTimeout:
        # An expired pause would fail the run; the rollout simply stays paused.
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(flow_run.id, Running(), force=True)
        return None


def answer_paused(flow_run_id: str, answer: RolloutAnswer) -> bool:
    """Resume the paused rollout run with `answer`; False when that run does not wait (any more)."""
    try:
        resume_flow_run(UUID(flow_run_id), run_input=answer.model_dump())
    except (NotPausedError, ObjectNotFound, FlowPauseTimeout, ValueError):
        return False
    return True


def is_waiting(flow_run_id: str | None) -> bool:
    """Whether that flow run is paused now (its form open); False for none or an unknown run."""
    if flow_run_id is None:
        return False
    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(UUID(flow_run_id)).state
        except (ObjectNotFound, ValueError):
            return False
    return state is not None and state.is_paused()


def hand_off_rollout(use_case: str, rollout: Rollout | None) -> str | None:
    """Start a run of the `rollout` deployment that asks a person; its name, or None without one.

    Nothing is started while a form is open already (the asking run still waits).
    """
    if rollout is None or is_waiting(rollout.flow_run_id):
        return None
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(ROLLOUT_DEPLOYMENT)
        except ObjectNotFound:
            return None
    run = run_deployment(ROLLOUT_DEPLOYMENT, parameters={"use_case": use_case}, timeout=0)
    return run.name
