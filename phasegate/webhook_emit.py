"""How a check request reaches Prefect: an event posted to the Prefect API."""

from collections.abc import Callable

from state.errors import EmitError

Emit = Callable[[str, str, dict], str]

CHECK_REQUESTED = "phasegate.check.requested"


def prefect_emitter(prefix: str = "phasegate.usecase") -> Emit:
    """An emit that posts events about `prefix.<name>` to the Prefect API and waits for it."""
    # Imported here, not with this module: importing prefect takes seconds, and tests pass
    # their own emit. Here, the server pays it at start-up rather than on the first request.
    from prefect.client.orchestration import get_client
    from prefect.events import Event
    from prefect.settings import get_current_settings

    def emit(event: str, name: str, payload: dict) -> str:
        """Post one event and return its id; raises when the API does not take it."""
        if not get_current_settings().api.url:
            # Prefect would start a temporary server inside this process: it runs no
            # triggers, so the event would start nothing.
            raise EmitError("PREFECT_API_URL is not set; no Prefect server would see the event")
        sent = Event(
            event=event,
            resource={
                "prefect.resource.id": f"{prefix}.{name}",
                "prefect.resource.name": name,
            },
            payload=payload,
        )
        # POST and wait rather than emit_event(): that queues the event for a background
        # worker which drops it when the API is unreachable, after we would have answered 202.
        with get_client(sync_client=True) as client:
            client.request("POST", "/events", json=[sent.model_dump(mode="json")])
        return str(sent.id)

    return emit
