"""What applications report: usage counts, interactions, and the signed deliveries they came in."""

import threading
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple

from pydantic import ConfigDict, Field

from state.domain.frozen import Frozen


class UsageCount(NamedTuple):
    """The queries one source reported for one use case on one day."""

    use_case: str
    day: date
    count: int
    source: str = "default"


class NewInteraction(Frozen):
    """An interaction as an application reports it; `client_id` identifies it for that use case."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=200)
    input: str
    output: str = ""
    label: str | None = None
    rating: float | None = None
    configuration_id: int | None = Field(None, description="the configuration that served it")
    latency_ms: float | None = Field(None, ge=0)
    error: bool | None = None


class Interaction(NewInteraction):
    """A stored interaction."""

    id: int
    use_case: str
    created_at: datetime


class Delivery(NamedTuple):
    """One signed request: the use case it targets, its `webhook-id` and `webhook-timestamp`."""

    use_case: str
    webhook_id: str
    sent_at: int


def provider_scope(object_id: str, provider: str = "openai") -> str:
    """The delivery scope of a provider's events about one object (a batch, a tuning job)."""
    return f"{provider}:{object_id}"


class Replays:
    """One webhook process's replay window: when to drop the deliveries that can never recur.

    A delivery sent more than `window` seconds from now can never pass the timestamp check
    again; pruning waits for twice that, so a webhook process whose clock is up to `window`
    behind another's still finds every id it could accept. The store prunes once every
    `prune_every` reservations, before the reservation that makes it due.
    """

    def __init__(self, window: int, prune_every: int = 1000) -> None:
        self.window = window
        self.prune_every = prune_every
        self._reserved = 0
        self._lock = threading.Lock()

    def prune_before(self, deliveries: Sequence[Delivery]) -> int | None:
        """Count these reservations; when a prune is due, the unix time to prune before."""
        with self._lock:
            self._reserved += len(deliveries)
            if self._reserved < self.prune_every:
                return None
            self._reserved = 0
        return int(time.time()) - 2 * self.window


class Observation(Frozen):
    """What the live analysis reads of one interaction: its arm and its outcomes."""

    configuration_id: int
    output: str
    label: str | None
    rating: float | None
    latency_ms: float | None
    error: bool | None
