"""Group commit for usage reports: concurrent requests share one transaction.

While one transaction runs, the reports that arrive wait and then go together in the next
one. At rest a report waits for no one; under load one commit carries many reports, which is
what lets one SQLite writer keep up with a thousand requests a second. Each caller is
answered only after the commit that holds its counts, so an accepted report is never lost.
Each report's `webhook-id` is reserved in the same transaction as its counts: a replayed report
writes nothing, and a refused one leaves its id free for a retry.
"""

import asyncio
from collections.abc import Sequence

import anyio

from state.domain import Delivery, Replays, UsageCount
from state.errors import ApiError
from state.store_api import Store

Report = Sequence[UsageCount]
Item = tuple[Report, Delivery]


def replayed(delivery: Delivery) -> ApiError:
    """The 401 answer to a request whose `webhook-id` was already taken for its use case."""
    return ApiError(
        401, "replayed", f"webhook-id: {delivery.webhook_id} was already received for this use case"
    )


class UsageWriter:
    """Writes usage reports for the webhook API, many per transaction."""

    def __init__(
        self, store_url: str, store_slots: anyio.CapacityLimiter, replays: Replays
    ) -> None:
        self.store = Store(store_url)
        self.store_slots = store_slots
        self.replays = replays
        self._waiting: list[tuple[Item, asyncio.Future[int]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, counts: Report, delivery: Delivery) -> int:
        """Write one report; return how many counts it set once they are committed.

        Raises NotFound for an unknown use case, ApiError 401 for a replayed delivery, or the
        store's error for this report alone.
        """
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(((counts, delivery), answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await answer

    async def _flush(self) -> None:
        """Write what waits, one transaction at a time, until nothing waits."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            items = [item for item, _ in batch]
            try:
                results = await anyio.to_thread.run_sync(
                    self._write, items, limiter=self.store_slots
                )
            except Exception as exc:  # noqa: BLE001 - every waiting caller gets the failure
                results = [exc] * len(batch)
            for (_, answer), result in zip(batch, results, strict=True):
                if answer.done():  # the caller went away; its counts are written all the same
                    continue
                if isinstance(result, Exception):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

    def _write(self, items: list[Item]) -> list[int | Exception]:
        """All reports in one transaction; if it fails, each in its own, to isolate the cause."""
        try:
            return self._write_in(items)
        except Exception:  # noqa: BLE001 - retried one by one below, where errors are kept
            if len(items) == 1:
                raise
        return [self._write_one(item) for item in items]

    def _write_one(self, item: Item) -> int | Exception:
        """One report in its own transaction; its error is returned, not raised."""
        try:
            (result,) = self._write_in([item])
            return result
        except Exception as exc:  # noqa: BLE001 - answered to this report's caller alone
            return exc

    def _write_in(self, items: list[Item]) -> list[int | Exception]:
        """Reserve the reports' deliveries and write the counts of the new ones, at once.

        A replayed report writes nothing; a report refused (unknown use case) frees its id.
        """
        results = self.store.record_usage_deliveries(self.replays, items)
        return [
            replayed(delivery) if result is None else result
            for (_, delivery), result in zip(items, results, strict=True)
        ]
