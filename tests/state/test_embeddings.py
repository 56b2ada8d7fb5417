"""Chunk vectors in the store on SQLite and PostgreSQL: listing, round trip, cascade."""

import hashlib

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from state import embeddings
from state.db import MIGRATIONS, session_scope
from state.documents import sync_documents
from state.domain import Chunk, DocumentInput
from state.errors import Conflict, InputError, NotFound

MODEL = "embed-a"


def _doc(doc_id: str, *paragraphs: str) -> DocumentInput:
    content = "\n\n".join(paragraphs)
    return DocumentInput(
        doc_id=doc_id,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
        chunker="test",
        chunks=[
            Chunk(document=doc_id, heading_path=(doc_id,), ordinal=i, text=p)
            for i, p in enumerate(paragraphs)
        ],
    )


CORPUS = [
    _doc("uploads", "The maximum upload is 5 GB.", "Uploads resume."),
    _doc("billing", "Invoices are sent monthly."),
]


@pytest.fixture(name="indexed_use_case")
def indexed_use_case_fixture(use_case: str, engine: Engine) -> str:
    """The registered demo-qa with CORPUS indexed (3 chunks), on each backend."""
    with session_scope(engine) as session:
        sync_documents(use_case, CORPUS, session=session)
    return use_case


def _missing(session: Session, model: str = MODEL) -> list[int]:
    found = embeddings.chunks_without_embedding("demo-qa", model, session=session)
    return [c.chunk_id for c in found]


def test_chunks_without_embedding_lists_every_chunk_with_its_text(
    indexed_use_case: str, session: Session
) -> None:
    found = embeddings.chunks_without_embedding(indexed_use_case, MODEL, session=session)
    assert [(c.document_id, c.heading, c.text) for c in found] == [
        ("uploads", "uploads", "The maximum upload is 5 GB."),
        ("uploads", "uploads", "Uploads resume."),
        ("billing", "billing", "Invoices are sent monthly."),
    ]


def test_chunks_without_embedding_leaves_out_embedded_chunks_of_that_model_only(
    indexed_use_case: str, session: Session
) -> None:
    ids = _missing(session)
    embeddings.save_embeddings(MODEL, ids[:2], np.ones((2, 4)), session=session)
    assert (_missing(session), _missing(session, "embed-b")) == (ids[2:], ids)


def test_load_embeddings_round_trips_normalised_vectors_in_id_order(
    indexed_use_case: str, session: Session
) -> None:
    ids = _missing(session)
    vectors = np.array([[3.0, 4.0], [0.0, 2.0], [1.0, 0.0]])
    # Saved out of order: the matrix comes back in chunk id order.
    embeddings.save_embeddings(MODEL, ids[::-1], vectors[::-1], session=session)
    loaded = embeddings.load_embeddings(indexed_use_case, MODEL, session=session)
    assert loaded.chunk_ids == ids
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_allclose(loaded.vectors, [[0.6, 0.8], [0.0, 1.0], [1.0, 0.0]], rtol=1e-6)


def test_load_embeddings_keeps_a_zero_vector_zero(indexed_use_case: str, session: Session) -> None:
    ids = _missing(session)
    embeddings.save_embeddings(MODEL, ids, np.array([[0.0, 0.0], [1, 1], [2, 0]]), session=session)
    loaded = embeddings.load_embeddings(indexed_use_case, MODEL, session=session)
    assert loaded.vectors[0].tolist() == [0.0, 0.0]


def test_load_embeddings_without_vectors_is_empty(indexed_use_case: str, session: Session) -> None:
    loaded = embeddings.load_embeddings(indexed_use_case, MODEL, session=session)
    assert (loaded.chunk_ids, loaded.vectors.shape) == ([], (0, 0))


def test_load_embeddings_refuses_mixed_dimensions(indexed_use_case: str, session: Session) -> None:
    ids = _missing(session)
    embeddings.save_embeddings(MODEL, ids[:1], np.ones((1, 4)), session=session)
    embeddings.save_embeddings(MODEL, ids[1:], np.ones((2, 8)), session=session)
    with pytest.raises(Conflict, match=r"'embed-a' of different dimensions \[4, 8\]"):
        embeddings.load_embeddings(indexed_use_case, MODEL, session=session)


def test_save_embeddings_refuses_vectors_that_do_not_match_the_ids(
    indexed_use_case: str, session: Session
) -> None:
    with pytest.raises(InputError, match=r"2 chunk ids but vectors of shape \(3, 4\)"):
        embeddings.save_embeddings(MODEL, _missing(session)[:2], np.ones((3, 4)), session=session)


def test_rechunked_document_drops_its_vectors(indexed_use_case: str, engine: Engine) -> None:
    with session_scope(engine) as session:
        ids = _missing(session)
        embeddings.save_embeddings(MODEL, ids, np.eye(3), session=session)
    edited = [_doc("uploads", "Uploads pause."), CORPUS[1]]
    with session_scope(engine) as session:
        sync_documents(indexed_use_case, edited, session=session)
    with session_scope(engine) as session:
        loaded = embeddings.load_embeddings(indexed_use_case, MODEL, session=session)
        missing = embeddings.chunks_without_embedding(indexed_use_case, MODEL, session=session)
    assert loaded.chunk_ids == ids[2:]
    assert [c.text for c in missing] == ["Uploads pause."]


def test_get_chunks_returns_rows_by_id_and_skips_unknown_ids(
    indexed_use_case: str, session: Session
) -> None:
    ids = _missing(session)
    found = embeddings.get_chunks([ids[2], ids[0], ids[2], 10_000], session=session)
    assert {i: c.document_id for i, c in found.items()} == {ids[0]: "uploads", ids[2]: "billing"}


def test_chunks_without_embedding_unknown_use_case_raises(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nope'"):
        embeddings.chunks_without_embedding("nope", MODEL, session=session)


def test_migration_0004_downgrades_and_upgrades_again(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
        assert "chunk_embedding" not in inspect(connection).get_table_names()
        command.upgrade(config, "head")
        assert "chunk_embedding" in inspect(connection).get_table_names()
