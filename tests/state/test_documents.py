"""Documents, chunks and full-text search on SQLite and PostgreSQL."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from state import documents
from state.db import MIGRATIONS, session_scope
from state.domain import Chunk, DocumentInput
from state.errors import InputError, NotFound
from state.spec import load_spec
from state.use_cases import apply_spec
from tests.specs import write_spec

CHUNKER = "test"


def _doc(doc_id: str, *paragraphs: str, chunker: str = CHUNKER) -> DocumentInput:
    content = "\n\n".join(paragraphs)
    return DocumentInput(
        doc_id=doc_id,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
        chunker=chunker,
        chunks=[
            Chunk(document=doc_id, heading_path=("Guide", doc_id), ordinal=i, text=p)
            for i, p in enumerate(paragraphs)
        ],
    )


CORPUS = [
    _doc("uploads", "The maximum size of a single upload is 5 GB.", "Uploads resume."),
    _doc("guides/sync", "The port used by LAN sync is 47120.", "Sync runs every 30 seconds."),
    _doc("billing", "Invoices are sent on the first day of each month."),
]


@pytest.fixture(name="writes")
def writes_fixture(engine: Engine) -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements run on the engine during the test."""
    seen: list[str] = []

    def record(conn, cursor, statement: str, *args) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _chunk_ids(session: Session, use_case: str, query: str) -> set[int]:
    return {c.chunk_id for c in documents.search_chunks(use_case, query, 10, session=session)}


def test_sync_documents_reports_added_documents_and_chunks(use_case: str, session: Session) -> None:
    report = documents.sync_documents(use_case, CORPUS, session=session)
    assert (report.added, report.changed, report.unchanged, report.removed) == (3, 0, 0, 0)
    assert (report.chunks_written, report.documents, report.chunks) == (5, 3, 5)
    assert documents.count_documents(use_case, session=session) == (3, 5)


def test_sync_documents_unchanged_writes_nothing(
    use_case: str, engine: Engine, writes: list[str]
) -> None:
    with session_scope(engine) as session:
        documents.sync_documents(use_case, CORPUS, session=session)
    assert writes, "the listener must see the first ingest's writes"
    writes.clear()
    unchunked = [d.model_copy(update={"chunks": None}) for d in CORPUS]
    with session_scope(engine) as session:
        report = documents.sync_documents(use_case, unchunked, session=session)
    assert (report.unchanged, report.chunks_written, writes) == (3, 0, [])


def test_sync_documents_rechunks_only_changed_document(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    kept = _chunk_ids(session, use_case, "upload 5 GB")
    changed = _doc("guides/sync", "The port used by LAN sync is now 47200.")
    report = documents.sync_documents(use_case, [CORPUS[0], changed, CORPUS[2]], session=session)
    assert (report.added, report.changed, report.unchanged, report.chunks_written) == (0, 1, 2, 1)
    assert _chunk_ids(session, use_case, "upload 5 GB") == kept
    assert documents.search_chunks(use_case, "47120", 3, session=session) == []
    assert [
        c.document_id for c in documents.search_chunks(use_case, "47200", 3, session=session)
    ] == ["guides/sync"]


def test_sync_documents_rechunks_when_chunker_changes(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    rechunked = [d.model_copy(update={"chunker": "other"}) for d in CORPUS]
    report = documents.sync_documents(use_case, rechunked, session=session)
    assert (report.changed, report.chunks_written, report.chunks) == (3, 5, 5)


def test_sync_documents_removes_missing_document(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    report = documents.sync_documents(use_case, CORPUS[1:], session=session)
    assert (report.removed, report.documents, report.chunks) == (1, 2, 3)
    assert documents.search_chunks(use_case, "upload", 5, session=session) == []


def test_sync_documents_rejects_new_document_without_chunks(
    use_case: str, session: Session
) -> None:
    with pytest.raises(InputError, match="'billing': new or changed but not chunked"):
        documents.sync_documents(
            use_case, [CORPUS[2].model_copy(update={"chunks": None})], session=session
        )


def test_sync_documents_rejects_duplicate_ids(use_case: str, session: Session) -> None:
    with pytest.raises(InputError, match="'billing': given twice"):
        documents.sync_documents(use_case, [CORPUS[2], CORPUS[2]], session=session)


def test_sync_documents_unknown_use_case_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nope'"):
        documents.sync_documents("nope", CORPUS, session=session)


def test_search_chunks_finds_document_of_distinctive_query(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    found = documents.search_chunks(use_case, "Which port does LAN sync use?", 2, session=session)
    assert found[0].document_id == "guides/sync"
    assert found[0].text == "The port used by LAN sync is 47120."
    assert found[0].heading == "Guide > guides/sync"
    assert found[0].score > 0


def test_search_chunks_ranks_best_match_first(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    found = documents.search_chunks(use_case, "invoices sent first day month", 5, session=session)
    assert found[0].document_id == "billing"
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_search_chunks_fills_top_k_with_common_words(use_case: str, session: Session) -> None:
    notes = [_doc(f"note-{word}", f"common {word}") for word in ("alpha", "beta", "gamma", "delta")]
    documents.sync_documents(use_case, notes, session=session)
    best = documents.search_chunks(use_case, "common alpha", 1, session=session)
    filled = documents.search_chunks(use_case, "common alpha", 3, session=session)
    assert [c.document_id for c in best] == ["note-alpha"]
    assert [c.document_id for c in filled][0] == "note-alpha" and len(filled) == 3


def test_search_chunks_treats_fts_syntax_as_text(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    queries = ['"upload', "upload*", "col:upload", "-upload", "(upload", "NEAR(upload", "upload OR"]
    found = {q: documents.search_chunks(use_case, q, 3, session=session) for q in queries}
    assert {q: {c.document_id for c in chunks} for q, chunks in found.items()} == {
        q: {"uploads"} for q in queries
    }


def test_search_chunks_without_words_finds_nothing(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    found = [documents.search_chunks(use_case, q, 3, session=session) for q in ["", " ?! ", "*"]]
    assert found == [[], [], []]


def test_search_chunks_stays_within_use_case(
    tmp_path: Path, use_case: str, session: Session
) -> None:
    apply_spec(load_spec(write_spec(tmp_path / "other", name="other-qa")), session=session)
    documents.sync_documents("other-qa", CORPUS, session=session)
    assert documents.search_chunks(use_case, "upload", 3, session=session) == []


def test_search_chunks_unknown_use_case_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        documents.search_chunks("nope", "upload", 3, session=session)


def test_documents_hash_follows_content(use_case: str, session: Session) -> None:
    empty = documents.documents_hash(use_case, session=session)
    first = documents.sync_documents(use_case, CORPUS, session=session).documents_hash
    again = documents.sync_documents(use_case, CORPUS, session=session).documents_hash
    assert first == again == documents.documents_hash(use_case, session=session)
    edited = [*CORPUS[:2], _doc("billing", "Invoices are sent weekly.")]
    changed = documents.sync_documents(use_case, edited, session=session).documents_hash
    assert len({empty, first, changed}) == 3


def test_document_versions_lists_hash_and_chunker(use_case: str, session: Session) -> None:
    documents.sync_documents(use_case, CORPUS, session=session)
    versions = documents.document_versions(use_case, session=session)
    assert versions["billing"] == (CORPUS[2].content_hash, CHUNKER)
    assert sorted(versions) == ["billing", "guides/sync", "uploads"]


def test_migration_0002_downgrades_and_upgrades_again(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
        assert not {"document", "chunk", "chunk_fts"} & set(inspect(connection).get_table_names())
        command.upgrade(config, "head")
        assert {"document", "chunk"} <= set(inspect(connection).get_table_names())
