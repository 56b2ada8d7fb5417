"""Prefect events about use cases, for automations to act on (notify, page, open a ticket).

Events that tell people something carry an id derived from what they are about (the paused
flow run, the decision): a re-run that emits one again sends the same id, which Prefect stores
once and its triggers evaluate once, so a notification goes out once per waiting approval or
decision. Keys include the flow run id: store ids alone repeat across stores that share one
Prefect server (and Prefect would silently keep only the first event).
"""

from typing import Any
from uuid import UUID, uuid5

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.settings import PREFECT_UI_URL

from state.domain import Decision

REGRESSION_DETECTED = "phasegate.regression.detected"
ROLLOUT_STEP = "phasegate.rollout.step"
ROLLOUT_PROMOTED = "phasegate.rollout.promoted"
ROLLOUT_ABORTED = "phasegate.rollout.aborted"
APPROVAL_REQUESTED = "phasegate.approval.requested"
DECISION_RECORDED = "phasegate.decision.recorded"
# The namespace of the events' ids (any fixed UUID would do):
# uuid5(NAMESPACE_URL, "https://github.com/phasegate/phasegate/events").
EVENT_NAMESPACE = UUID("9443cdc5-a1b2-5ec5-83f2-bf6428529d88")


def use_case_resource(name: str) -> dict[str, str]:
    """The Prefect resource of a use case: `phasegate.usecase.<name>`."""
    return {"prefect.resource.id": f"phasegate.usecase.{name}", "prefect.resource.name": name}


def flow_run_resource(flow_run_id: str) -> dict[str, str]:
    """A flow run as a related resource, so the Prefect UI links the event to the run."""
    return {
        "prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
        "prefect.resource.role": "flow-run",
    }


def flow_run_url(flow_run_id: str) -> str | None:
    """The Prefect UI page of a flow run, when the UI's address is known."""
    ui_url = PREFECT_UI_URL.value()
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui_url else None


def event_id(event: str, key: str) -> UUID:
    """The id of the one event `event` about `key`: the same on every emission."""
    return uuid5(EVENT_NAMESPACE, f"{event}/{key}")


def _emit(
    event: str, use_case: str, key: str, flow_run_id: str | None, payload: dict[str, Any]
) -> str | None:
    # emit_event queues the event for Prefect's events worker and never raises for a lost
    # event: the decision is already recorded, and the event only tells people about it.
    sent = emit_event(
        event=event,
        resource=use_case_resource(use_case),
        related=[flow_run_resource(flow_run_id)] if flow_run_id else None,
        payload={"use_case": use_case} | payload,
        id=event_id(event, key),
    )
    return str(sent.id) if sent is not None else None


@task(name="emit-regression-event", cache_policy=NO_CACHE)
def emit_regression(use_case: str, payload: dict[str, Any]) -> str | None:
    """Emit `phasegate.regression.detected` for a use case; returns the event id, if sent."""
    event = emit_event(
        event=REGRESSION_DETECTED,
        resource=use_case_resource(use_case),
        payload={"use_case": use_case} | payload,
    )
    return str(event.id) if event is not None else None


MODEL_RETIRING = "phasegate.model.retiring"


@task(name="emit-model-retiring-event", cache_policy=NO_CACHE)
def emit_model_retiring(model: str, payload: dict[str, Any]) -> str | None:
    """Emit `phasegate.model.retiring` for a model; returns the event id, if sent."""
    event = emit_event(
        event=MODEL_RETIRING,
        resource={
            "prefect.resource.id": f"phasegate.model.{model}",
            "prefect.resource.name": model,
        },
        payload={"model": model} | payload,
    )
    return str(event.id) if event is not None else None


def emit_rollout(event: str, use_case: str, payload: dict[str, Any]) -> str | None:
    """Emit a `phasegate.rollout.*` event for a use case; returns the event id, if sent.

    A plain function, not a task: the rollout flow and a person at the CLI both emit it.
    """
    sent = emit_event(
        event=event, resource=use_case_resource(use_case), payload={"use_case": use_case} | payload
    )
    return str(sent.id) if sent is not None else None


def emit_approval_requested(
    use_case: str, *, key: str, flow_run_id: str, move: str, payload: dict[str, Any]
) -> str | None:
    """Emit `phasegate.approval.requested` once per `key`: the move and the waiting run's link.

    `key` names the wait within the run (`approval`, `rollout-4-step-0`); the event's id is made
    of it and the flow run id. A plain function, like `emit_rollout`: callers emit it once, when
    the wait begins, never from a polling loop.
    """
    return _emit(
        APPROVAL_REQUESTED,
        use_case,
        f"{flow_run_id}/{key}",
        flow_run_id,
        {"move": move, "flow_run_id": flow_run_id, "url": flow_run_url(flow_run_id)} | payload,
    )


def emit_decision_recorded(decision: Decision, flow_run_id: str | None) -> str | None:
    """Emit `phasegate.decision.recorded` for a decision just written, with its run's link.

    A decision recorded outside a flow run (a person at the CLI) is keyed by its time instead.
    """
    where = flow_run_id or decision.created_at.isoformat()
    return _emit(
        DECISION_RECORDED,
        decision.use_case,
        f"{where}/decision-{decision.id}",
        flow_run_id,
        {
            "decision_id": decision.id,
            "decision": decision.kind.value,
            "from_phase": decision.from_phase.value,
            "to_phase": decision.to_phase.value,
            "decided_by": decision.decided_by,
            "reason": decision.reason,
            "configuration_id": decision.configuration_id,
            "flow_run_id": flow_run_id,
            "url": flow_run_url(flow_run_id) if flow_run_id else None,
        },
    )
