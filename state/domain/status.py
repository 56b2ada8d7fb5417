"""One row of `phasegate status`: plain data, so that reading it loads no pydantic."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StatusRow:
    """One use case as `phasegate status` shows it."""

    name: str
    phase: str
    configuration_id: int | None
    model: str | None
    retrieval: dict[str, Any] | None
    routed: bool
    last_decision: str | None
    volume_30d: int
    pending_to_phase: str | None
    retiring: str | None = None  # "model on YYYY-MM-DD": the active model's noted shutdown
    last_decision_at: datetime | None = None
    # The active configuration's fields as `status --json` prints them (None: none active).
    configuration: dict[str, Any] | None = None
