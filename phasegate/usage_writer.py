"""Group commit for usage reports: concurrent requests share one transaction.

While one transaction runs, the reports that arrive wait and then go together in the next
one. At rest a report waits for no one; under load one commit carries many reports, which is
what lets one SQLite writer keep up with a thousand requests a second. Each caller is
answered only after the commit that holds its counts, so an accepted report is never lost.
"""

import asyncio
from collections.abc import Sequence

import anyio

from state.db import store_session
from state.usage import UsageCount, record_usage_many, record_usage_reports

Report = Sequence[UsageCount]


class UsageWriter:
    """Writes usage reports for the webhook API, many per transaction."""

    def __init__(self, store_url: str, store_slots: anyio.CapacityLimiter) -> None:
        self.store_url = store_url
        self.store_slots = store_slots
        self._waiting: list[tuple[Report, asyncio.Future[int]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, counts: Report) -> int:
        """Write one report; return how many counts it set once they are committed.

        Raises NotFound for an unknown use case, or the store's error for this report alone.
        """
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((counts, answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await answer

    async def _flush(self) -> None:
        """Write what waits, one transaction at a time, until nothing waits."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            reports = [counts for counts, _ in batch]
            try:
                results = await anyio.to_thread.run_sync(
                    self._write, reports, limiter=self.store_slots
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

    def _write(self, reports: list[Report]) -> list[int | Exception]:
        """All reports in one transaction; if it fails, each in its own, to isolate the cause."""
        try:
            with store_session(self.store_url) as session:
                return list(record_usage_reports(reports, session=session))
        except Exception:  # noqa: BLE001 - retried one by one below, where errors are kept
            if len(reports) == 1:
                raise
        return [self._write_one(counts) for counts in reports]

    def _write_one(self, counts: Report) -> int | Exception:
        """One report in its own transaction; its error is returned, not raised."""
        try:
            with store_session(self.store_url) as session:
                return record_usage_many(counts, session=session)
        except Exception as exc:  # noqa: BLE001 - answered to this report's caller alone
            return exc
