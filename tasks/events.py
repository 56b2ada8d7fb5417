"""Prefect events about use cases, for automations to act on (notify, page, open a ticket)."""

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

REGRESSION_DETECTED = "phasegate.regression.detected"
ROLLOUT_STEP = "phasegate.rollout.step"
ROLLOUT_PROMOTED = "phasegate.rollout.promoted"
ROLLOUT_ABORTED = "phasegate.rollout.aborted"


def use_case_resource(name: str) -> dict[str, str]:
    """The Prefect resource of a use case: `phasegate.usecase.<name>`."""
    return {"prefect.resource.id": f"phasegate.usecase.{name}", "prefect.resource.name": name}


@task(name="emit-regression-event", cache_policy=NO_CACHE)
def emit_regression(use_case: str, payload: dict[str, Any]) -> str | None:
    """Emit `phasegate.regression.detected` for a use case; returns the event id, if sent."""
    # emit_event queues the event for Prefect's events worker and never raises for a lost
    # event: the decision is already recorded, and the event only tells people about it.
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
