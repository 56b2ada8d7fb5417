"""Webhook deliveries in the store: reserved once, released for a retry, pruned when stale."""

import time

import pytest
from sqlalchemy import text

from state.db import store_session
from state.deliveries import (
    prune_deliveries,
    release_delivery,
    reserve,
    reserve_deliveries,
)
from state.domain import Delivery, Replays

NOW = 1_700_000_000


def _ids(url: str) -> list[tuple[str, str]]:
    with store_session(url) as session:
        return sorted(session.execute(text("SELECT use_case, webhook_id FROM webhook_delivery")))


def test_reserve_answers_new_or_replayed_in_order(store_url: str) -> None:
    a, b = Delivery("a", "msg_1", NOW), Delivery("a", "msg_2", NOW)
    with store_session(store_url) as session:
        assert reserve_deliveries([a, b, a, Delivery("b", "msg_1", NOW)], session=session) == [
            True,
            True,
            False,
            True,
        ]
    with store_session(store_url) as session:
        assert reserve_deliveries([b, Delivery("a", "msg_3", NOW)], session=session) == [
            False,
            True,
        ]


def test_reservation_rolled_back_with_its_unit_of_work_is_free_again(store_url: str) -> None:
    delivery = Delivery("a", "msg_1", NOW)
    with pytest.raises(RuntimeError), store_session(store_url) as session:
        reserve_deliveries([delivery], session=session)
        raise RuntimeError("the request's write failed")
    with store_session(store_url) as session:
        assert reserve_deliveries([delivery], session=session)[0] is True


def test_released_delivery_may_be_reserved_again(store_url: str) -> None:
    delivery = Delivery("a", "msg_1", NOW)
    with store_session(store_url) as session:
        reserve_deliveries([delivery], session=session)
        release_delivery(delivery, session=session)
    with store_session(store_url) as session:
        assert reserve_deliveries([delivery], session=session)[0] is True


def test_prune_removes_only_deliveries_sent_before_the_cutoff(store_url: str) -> None:
    with store_session(store_url) as session:
        reserve_deliveries(
            [Delivery("a", "old", NOW - 601), Delivery("a", "edge", NOW - 600)], session=session
        )
        assert prune_deliveries(NOW - 600, session=session) == 1
    assert _ids(store_url) == [("a", "edge")]


def test_replays_prune_ids_twice_the_window_old_every_n_reservations(store_url: str) -> None:
    replays, now = Replays(window=300, prune_every=3), int(time.time())
    with store_session(store_url) as session:
        reserve_deliveries([Delivery("a", "ancient", now - 601)], session=session)
        reserve(replays, [Delivery("a", "one", now), Delivery("a", "two", now)], session=session)
    assert ("a", "ancient") in _ids(store_url)
    with store_session(store_url) as session:
        reserve(replays, [Delivery("a", "three", now - 599)], session=session)
    assert _ids(store_url) == [("a", "one"), ("a", "three"), ("a", "two")]
