"""How often one phase check goes to the state store: units of work, indexing passes, searches.

Units of work are the `Store` sessions the check's flow run opens; transactions are counted
on the store's engine. Both leave aside the lease's heartbeat thread (it beats on a timer, not
per step) and the response cache's writes (they come in groups by size and age, and are
kept apart so that a stopped eval keeps its answers). Each is named after who began it.
"""

import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from state.db import engine_for
from state.documents import query_terms
from state.store_api import Store
from tasks.eval_sets import load_eval_set
from tests.flows.checks import run_check
from tests.flows.journey import (
    ROOT,
    USE_CASE,
    Journey,
    copy_use_cases,
    point_settings_at,
    register,
)
from tests.flows.stores import Stores
from tests.plugins.sandbox_server import SandboxServer

pytestmark = pytest.mark.prefect

#: Transactions of one check prompting → RAG besides the response cache's writes (which come
#: in groups by size and age): 7 measured, as many as its units of work (16 before a check
#: opened in one unit and stored what it scored with its decision; 21 before `Store`).
MAX_TRANSACTIONS = 7
STATE = ROOT / "state"
#: `Store` opens the session around a store function: name the function, not the method.
FACE = {"db.py", "store_api.py", "lease_holder.py"}


def _began_in() -> str:
    """Who began a transaction: the Store's coarse unit, else the outermost store function."""
    for frame in traceback.extract_stack():
        path = Path(frame.filename)
        if path.parent != STATE or path.name in FACE:
            continue
        return f"{path.name}:{frame.name}"
    return "?"


#: Units of work of a first check (the A/B of support-qa's 3 prompt variants) and of a second
#: one (prompting → RAG), the response cache's writes aside (issue 28: 22 and 16 before).
MAX_UNITS_FIRST = 7
MAX_UNITS_SECOND = 7


class Units:
    """The `Store` units of work opened while listening, by method, from every thread but the
    lease's heartbeat."""

    def __init__(self) -> None:
        self.monkeypatch = pytest.MonkeyPatch()
        self.opened: list[str] = []

    def __enter__(self) -> "Units":
        original = Store._session
        opened = self.opened

        def session(store: Store):  # noqa: ANN202 - a context manager, as the original
            if not threading.current_thread().name.startswith("lease-"):
                opened.append(sys._getframe(1).f_code.co_name)
            return original(store)

        self.monkeypatch.setattr(Store, "_session", session)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.monkeypatch.undo()

    def check_units(self) -> list[str]:
        """The units opened, the response cache's writes aside."""
        return [name for name in self.opened if name != "put_cached_responses"]


class Counted:
    """Transactions begun and full-text searches run on one store's engine, while listening."""

    def __init__(self, store_url: str) -> None:
        self.engine = engine_for(store_url)
        self.transactions: Counter[str] = Counter()
        self.searches = 0

    def _begin(self, _connection) -> None:
        if not threading.current_thread().name.startswith("lease-"):
            self.transactions[_began_in()] += 1

    def _execute(self, _connection, _cursor, statement: str, *_args) -> None:
        # One full-text search per query: FTS5's bm25 on SQLite, ts_rank on PostgreSQL.
        if "bm25(chunk_fts)" in statement or "ts_rank(" in statement:
            self.searches += 1

    def __enter__(self) -> "Counted":
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._execute)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._execute)


@pytest.fixture(name="registered")
def registered_fixture(
    flows_api: None,
    stores: Stores,
    sandbox_server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Journey:
    """support-qa registered on a new store, its first check to come."""
    journey = Journey(stores.new(), copy_use_cases(tmp_path / "usecases"), sandbox_server)
    register(journey.store_url, journey.specs_dir)
    sandbox_server.reset()
    point_settings_at(monkeypatch, journey)
    return journey


@pytest.fixture(name="baselined")
def baselined_fixture(registered: Journey) -> Iterator[Journey]:
    """support-qa baselined in prompting on a new store, its next check prompting → RAG."""
    assert run_check(registered).decision.kind == "baselined"
    yield registered


def test_a_first_check_opens_few_units_of_work(registered: Journey) -> None:
    with Units() as units:
        step = run_check(registered)
    assert step.decision.kind == "baselined"
    assert len(units.check_units()) <= MAX_UNITS_FIRST, units.check_units()


def test_a_second_check_opens_few_units_of_work(baselined: Journey) -> None:
    with Units() as units:
        step = run_check(baselined)
    assert (step.decision.kind, step.decision.to_phase) == ("advanced", "rag")
    assert len(units.check_units()) <= MAX_UNITS_SECOND, units.check_units()
    assert units.check_units()[0] == "open_check"  # the lease, the use case and its context


def test_one_check_prompting_to_rag_indexes_once_and_searches_once_per_item(
    baselined: Journey,
) -> None:
    items, _ = load_eval_set(baselined.specs_dir / USE_CASE / "eval.jsonl")
    with Counted(baselined.store_url) as counted:
        started = time.monotonic()
        step = run_check(baselined)
        seconds = time.monotonic() - started
    assert (step.decision.kind, step.decision.to_phase) == ("advanced", "rag")
    own = counted.transactions.copy()
    del own["evals.py:put_cached_responses"]
    own["decisions.py:get_decision_by_run"] -= 1  # run_check's read of what the check recorded
    seen = f"{seconds:.1f} s, {counted.searches} searches, {counted.transactions.most_common()}"
    assert own.total() <= MAX_TRANSACTIONS, seen
    assert counted.transactions["intake_units.py:sync_document_files"] == 1
    assert counted.searches == sum(1 for item in items if query_terms(item.input))
