"""Reading Phasegate's events back from the Prefect API the tests run against."""

import time
from datetime import datetime

from prefect.client.orchestration import get_client
from prefect.events import Event
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)
from prefect.events.worker import EventsWorker

TIMEOUT_SECONDS = 30.0


def stored_events(
    name: str, since: datetime, resource: str | None = None, want: int = 0
) -> list[Event]:
    """The events `name` (of `resource`) since `since`, once `want` of them are stored (or 30 s).

    The events worker is drained first (a worker left on a stopped server must not hang us);
    with `want=0` the events stored now are read once.
    """
    EventsWorker.drain_all(timeout=5)
    event_filter = EventFilter(
        occurred=EventOccurredFilter(since=since),
        event=EventNameFilter(name=[name]),
        resource=EventResourceFilter(id=[resource]) if resource else None,
    )
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with get_client(sync_client=True) as client:
        while True:
            found = client.read_events(filter=event_filter, limit=50).events
            if len(found) >= want or time.monotonic() > deadline:
                return found
            time.sleep(0.2)
