"""The /active bodies kept per use case: the same bytes as a full read, fresh after any change
once the staleness bound has passed (a clock the test moves)."""

from pathlib import Path

import pytest

from phasegate.active_cache import ActiveCache, body_of
from state.errors import NotFound
from state.settings import Settings
from state.spec import load_spec
from state.store_api import Store
from tests.rollouts import control_and_canary, start
from tests.specs import write_spec

NAME = "demo-qa"


@pytest.fixture(name="store")
def store_fixture(settings: Settings, tmp_path: Path) -> Store:
    """demo-qa registered, a prompting configuration active and a RAG canary kept."""
    store = Store(settings.store_url)
    store.apply_specs([load_spec(write_spec(tmp_path / "specs"))])
    return store


def test_active_cache_serves_each_key_what_a_full_read_serves(store: Store) -> None:
    _, canary = control_and_canary(store.url, NAME)
    start(store.url, NAME, canary, 10, 50)
    cache = ActiveCache(store)
    keys = [f"user-{n}" for n in range(300)]
    assert [cache.read(NAME, k) for k in keys] == [
        body_of(store.served_parts(NAME, k)) for k in keys
    ]


def test_active_cache_keeps_the_bodies_while_nothing_changes(store: Store) -> None:
    _, canary = control_and_canary(store.url, NAME)
    start(store.url, NAME, canary, 10, 50)
    cache = ActiveCache(store)
    assert cache.read(NAME, "user-1") is cache.read(NAME, "user-1")


def test_active_cache_sees_a_rollout_move_on_the_next_read(store: Store) -> None:
    _, canary = control_and_canary(store.url, NAME)
    rollout = start(store.url, NAME, canary, 10, 50)
    cache = ActiveCache(store)
    before = cache.read(NAME, "user-1")
    store.move_rollout(
        rollout.id, "promote", expected_version=rollout.version, reason="ok", gates=[]
    )
    after = cache.read(NAME, "user-1")
    assert after == body_of(store.served_parts(NAME, "user-1"))
    assert after.etag != before.etag
    assert b'"weight":50.0' in after.content


def test_active_cache_sees_a_decision_on_the_next_read(store: Store) -> None:
    cache = ActiveCache(store)
    before = cache.read(NAME, None)
    control_and_canary(store.url, NAME)  # records a baseline: the use case's version moves
    after = cache.read(NAME, None)
    assert after != before
    assert after == body_of(store.served_parts(NAME, None))


def test_active_cache_of_an_unknown_use_case_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="ghost"):
        ActiveCache(store).read("ghost", "user-1")


class Clock:
    """A monotonic clock that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_active_cache_serves_its_snapshot_until_max_age_has_passed(store: Store) -> None:
    _, canary = control_and_canary(store.url, NAME)
    rollout = start(store.url, NAME, canary, 10, 50)
    clock = Clock()
    cache = ActiveCache(store, max_age=0.1, clock=clock)
    before = cache.read(NAME, "user-1")
    store.move_rollout(
        rollout.id, "promote", expected_version=rollout.version, reason="ok", gates=[]
    )
    clock.now += 0.09  # within the bound: the snapshot is served, the store is not asked
    assert cache.fresh(NAME) is not None
    assert cache.read(NAME, "user-1") is before
    clock.now += 0.02
    assert cache.fresh(NAME) is None
    after = cache.read(NAME, "user-1")
    assert after == body_of(store.served_parts(NAME, "user-1"))
    assert b'"weight":50.0' in after.content


def test_active_cache_confirms_an_unchanged_snapshot_without_rebuilding_it(store: Store) -> None:
    clock = Clock()
    cache = ActiveCache(store, max_age=0.1, clock=clock)
    before = cache.read(NAME, None)
    clock.now += 1.0
    assert cache.read(NAME, None) is before
    assert cache.fresh(NAME) is not None  # confirmed now: fresh for another 0.1 s
