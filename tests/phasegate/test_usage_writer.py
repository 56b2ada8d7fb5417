"""Group commit of usage reports: shared transactions, answers per report, isolated failures."""

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import anyio
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from phasegate.usage_writer import UsageWriter
from state import use_cases
from state.db import engine_for, store_session
from state.domain import Delivery, Replays, UsageCount
from state.errors import ApiError, NotFound
from state.spec import load_spec
from state.usage import volume
from tests.specs import write_spec

NAME = "demo-qa"
DAY = date(2026, 11, 24)


@pytest.fixture(name="url")
def url_fixture(store_url: str, tmp_path: Path) -> str:
    """A store (SQLite, then PostgreSQL) with the use case demo-qa registered."""
    with store_session(store_url) as session:
        use_cases.apply_spec(load_spec(write_spec(tmp_path / "specs")), session=session)
    return store_url


@pytest.fixture(name="commits")
def commits_fixture(url: str) -> Iterator[list[int]]:
    """A list that grows by one at each commit on the store's engine."""
    commits: list[int] = []
    engine = engine_for(url)

    def count(_connection: object) -> None:
        commits.append(1)

    event.listen(engine, "commit", count)
    yield commits
    event.remove(engine, "commit", count)


IDS = itertools.count()


class _Writer(UsageWriter):
    """The writer, each report under a delivery of its own unless one is given."""

    async def record(self, counts: list[UsageCount], delivery: Delivery | None = None) -> int:
        if delivery is None:
            delivery = Delivery(counts[0].use_case, f"msg_{next(IDS)}", int(time.time()))
        return await super().record(counts, delivery)


def _writer(url: str) -> _Writer:
    return _Writer(url, anyio.CapacityLimiter(1), Replays(300))


def _report(count: int, source: str = "app", name: str = NAME) -> list[UsageCount]:
    return [UsageCount(name, DAY, count, source)]


def _stored_ids(url: str) -> list[str]:
    with store_session(url) as session:
        return sorted(session.execute(text("SELECT webhook_id FROM webhook_delivery")).scalars())


def _volume(url: str) -> int:
    with store_session(url) as session:
        return volume(NAME, today=DAY, session=session)


def test_concurrent_reports_share_one_commit_and_each_is_answered(
    url: str, commits: list[int]
) -> None:
    writer = _writer(url)

    async def main() -> list[int]:
        reports = [_report(10 * i, f"s{i}") for i in range(1, 6)]
        return await asyncio.gather(*(writer.record(report) for report in reports))

    assert asyncio.run(main()) == [1, 1, 1, 1, 1]
    assert len(commits) == 1
    assert _volume(url) == 150


def test_reports_sent_one_after_another_are_committed_each_at_once(
    url: str, commits: list[int]
) -> None:
    writer = _writer(url)

    async def main() -> None:
        for i in range(3):
            await writer.record(_report(5, f"s{i}"))

    asyncio.run(main())
    assert len(commits) == 3
    assert _volume(url) == 15


def test_later_report_of_the_same_day_and_source_wins_within_a_commit(url: str) -> None:
    writer = _writer(url)

    async def main() -> None:
        await asyncio.gather(writer.record(_report(100)), writer.record(_report(120)))

    asyncio.run(main())
    assert _volume(url) == 120


def test_unknown_use_case_fails_its_own_report_only(url: str) -> None:
    writer = _writer(url)

    async def main() -> list[object]:
        reports = [_report(10), _report(99, name="ghost"), _report(20, "batch")]
        return await asyncio.gather(
            *(writer.record(report) for report in reports), return_exceptions=True
        )

    first, ghost, third = asyncio.run(main())
    assert (first, third) == (1, 1)
    assert isinstance(ghost, NotFound)
    assert _volume(url) == 30


@pytest.fixture(name="poisoned_url")
def poisoned_url_fixture(tmp_path: Path) -> str:
    """A SQLite store with demo-qa whose usage table refuses the source `poison`."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with store_session(url) as session:
        use_cases.apply_spec(load_spec(write_spec(tmp_path / "specs")), session=session)
        session.execute(
            text(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON usage WHEN NEW.source = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned source'); END"
            )
        )
    return url


def test_store_failure_of_a_lone_report_is_raised_to_its_caller(poisoned_url: str) -> None:
    writer = _writer(poisoned_url)
    with pytest.raises(IntegrityError, match="poisoned source"):
        asyncio.run(writer.record(_report(99, "poison")))
    assert _volume(poisoned_url) == 0


def test_store_failure_of_one_report_leaves_the_others_written(poisoned_url: str) -> None:
    url = poisoned_url
    writer = _writer(url)

    async def main() -> list[object]:
        reports = [_report(10), _report(99, "poison"), _report(20, "batch")]
        return await asyncio.gather(
            *(writer.record(report) for report in reports), return_exceptions=True
        )

    first, poisoned, third = asyncio.run(main())
    assert (first, third) == (1, 1)
    assert isinstance(poisoned, IntegrityError) and "poisoned source" in str(poisoned)
    assert _volume(url) == 30


def test_report_whose_caller_went_away_is_still_written(url: str) -> None:
    writer = _writer(url)

    async def main() -> int:
        gone = asyncio.create_task(writer.record(_report(10)))
        stays = asyncio.create_task(writer.record(_report(20, "batch")))
        await asyncio.sleep(0)  # both reports wait for the flush that has not run yet
        gone.cancel()
        return await stays

    assert asyncio.run(main()) == 1
    assert _volume(url) == 30


def test_same_delivery_twice_in_one_commit_is_written_once(url: str, commits: list[int]) -> None:
    writer = _writer(url)
    delivery = Delivery(NAME, "msg_twice", int(time.time()))

    async def main() -> list[object]:
        return await asyncio.gather(
            writer.record(_report(10), delivery),
            writer.record(_report(10), delivery),
            return_exceptions=True,
        )

    first, second = asyncio.run(main())
    assert first == 1
    assert isinstance(second, ApiError) and (second.status, second.code) == (401, "replayed")
    assert (len(commits), _volume(url), _stored_ids(url)) == (1, 10, ["msg_twice"])


def test_refused_reports_leave_their_delivery_free(url: str) -> None:
    writer = _writer(url)
    ghost = Delivery("ghost", "msg_ghost", int(time.time()))

    async def main() -> list[object]:
        return await asyncio.gather(
            writer.record(_report(10), Delivery(NAME, "msg_ok", int(time.time()))),
            writer.record(_report(99, name="ghost"), ghost),
            return_exceptions=True,
        )

    assert isinstance(asyncio.run(main())[1], NotFound)
    assert _stored_ids(url) == ["msg_ok"]


def test_store_failure_leaves_the_delivery_free_for_a_retry(poisoned_url: str) -> None:
    writer = _writer(poisoned_url)
    delivery = Delivery(NAME, "msg_poison", int(time.time()))
    with pytest.raises(IntegrityError):
        asyncio.run(writer.record(_report(99, "poison"), delivery))
    assert _stored_ids(poisoned_url) == []
