"""Interactions in the store: de-duplication by client id and the labelled listing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from state.domain import NewInteraction
from state.errors import NotFound
from state.interactions import list_labelled_interactions, record_interactions


def _new(client_id: str, label: str | None = "yes", text: str = "hello") -> NewInteraction:
    return NewInteraction(client_id=client_id, input=text, output="out", label=label)


def test_record_interactions_counts_inserted_rows(use_case: str, session: Session) -> None:
    assert record_interactions(use_case, [_new("a"), _new("b")], session=session) == (2, 0)


def test_record_interactions_ignores_stored_client_ids(use_case: str, session: Session) -> None:
    record_interactions(use_case, [_new("a", text="first")], session=session)
    counts = record_interactions(use_case, [_new("a", text="second"), _new("c")], session=session)
    assert counts == (1, 1)
    inputs = [i.input for i in list_labelled_interactions(use_case, session=session)]
    assert inputs == ["first", "hello"]


def test_record_interactions_keeps_first_of_a_repeated_client_id(
    use_case: str, session: Session
) -> None:
    batch = [_new("a", text="first"), _new("a", text="second")]
    assert record_interactions(use_case, batch, session=session) == (1, 1)
    assert [i.input for i in list_labelled_interactions(use_case, session=session)] == ["first"]


def test_record_interactions_accepts_an_empty_batch(use_case: str, session: Session) -> None:
    assert record_interactions(use_case, [], session=session) == (0, 0)


def test_record_interactions_refuses_unknown_use_case(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nope'"):
        record_interactions("nope", [_new("a")], session=session)


def test_record_interactions_stores_large_batches(use_case: str, session: Session) -> None:
    batch = [_new(f"id-{n}") for n in range(620)]
    assert record_interactions(use_case, batch, session=session) == (620, 0)
    assert len(list_labelled_interactions(use_case, session=session)) == 620


def test_list_labelled_interactions_skips_unlabelled(use_case: str, session: Session) -> None:
    record_interactions(use_case, [_new("a"), _new("b", label=None)], session=session)
    listed = list_labelled_interactions(use_case, session=session)
    assert [(i.client_id, i.label, i.use_case) for i in listed] == [("a", "yes", use_case)]


def test_list_labelled_interactions_limit_keeps_latest(use_case: str, session: Session) -> None:
    record_interactions(use_case, [_new(c) for c in "abcd"], session=session)
    listed = list_labelled_interactions(use_case, limit=2, session=session)
    assert [i.client_id for i in listed] == ["c", "d"]


def test_list_labelled_interactions_since_filters_by_time(use_case: str, session: Session) -> None:
    record_interactions(use_case, [_new("a")], session=session)
    future = datetime.now(UTC) + timedelta(minutes=5)
    past = datetime.now(UTC) - timedelta(minutes=5)
    assert list_labelled_interactions(use_case, since=future, session=session) == []
    assert len(list_labelled_interactions(use_case, since=past, session=session)) == 1


def test_list_labelled_interactions_returns_aware_times(use_case: str, session: Session) -> None:
    record_interactions(use_case, [_new("a")], session=session)
    (interaction,) = list_labelled_interactions(use_case, session=session)
    assert interaction.created_at.tzinfo is not None
