"""What operators see of the store's housekeeping: check leases, their breaks, a prune."""

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from state.domain.frozen import Frozen


class LeaseInfo(Frozen):
    """A check lease as stored: who holds it, since when, and its last heartbeat."""

    use_case: str
    flow_run_id: str
    host: str
    pid: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime = Field(description="stale after this: the next check takes it over")


class LeaseBreak(Frozen):
    """An operator's break of a lease (`phasegate lease break`): whose, by whom, when and why."""

    use_case: str
    flow_run_id: str
    host: str
    broken_by: str
    reason: str
    broken_at: datetime


@dataclass(frozen=True)
class LeaseTaken:
    """The answer of taking a lease: held by us or not, and whose lease we replaced."""

    holder: str | None = None
    replaced: str | None = None


class IntakeTotals(Frozen):
    """What the store holds of what came in: usage rows, their summed counts, webhook ids kept."""

    usage_rows: int
    usage_total: int
    deliveries: int


class PruneReport(Frozen):
    """What one prune removed, and the flow runs whose artifacts go with it."""

    cutoff: datetime
    eval_runs: int
    eval_results: int
    cache_entries: int
    skipped_decisions: int
    batch_waits: int
    flow_run_ids: list[str]


class BatchWait(Frozen):
    """A provider batch that a suspended flow run waits for, and when to poll it next."""

    flow_run_id: str
    batch_id: str
    input_sha256: str = Field(description="of the batch's input file: a re-entry finds it so")
    poll_seconds: float = Field(description="the pause before the next poll; it doubles")
    next_poll_at: datetime
    ended_at: datetime | None = None
