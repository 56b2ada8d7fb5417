"""RAG tasks: indexing a documents directory, retrieving passages, retrieval hit rate."""

from pathlib import Path

import pytest

from state.db import store_session
from state.domain import EvalItem
from state.errors import InputError, NotFound
from state.spec import load_spec
from state.use_cases import apply_spec
from tasks.prompts import Passage
from tasks.retrieval import index_documents, retrieval_hit_rate, retrieve_passages
from tests.specs import write_spec

ROOT = Path(__file__).resolve().parents[2]
SUPPORT_QA = ROOT / "usecases" / "support-qa"
FILES = {
    "uploads.md": "# Uploads\n\nThe maximum size of a single upload is 5 GB.\n",
    "guides/sync.md": "# Sync\n\n## Network\n\nThe port used by LAN sync is 47120.\n",
    "notes.txt": "# plain text\n\nInvoices are sent on the first day of each month.\n",
    "image.png": "not a document",
    ".drafts/secret.md": "# Draft\n\nNever indexed.\n",
}


def _register(tmp_path: Path, store_url: str) -> str:
    with store_session(store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path / "spec")), session=session)
    return "demo-qa"


@pytest.fixture(name="use_case")
def use_case_fixture(tmp_path: Path, store_url: str) -> str:
    """demo-qa registered in the store at `store_url` (SQLite, then PostgreSQL)."""
    return _register(tmp_path, store_url)


@pytest.fixture(name="sqlite_url")
def sqlite_url_fixture(tmp_path: Path) -> str:
    """A SQLite store with demo-qa registered, for failures that happen before the store."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _register(tmp_path, url)
    return url


@pytest.fixture(name="docs")
def docs_fixture(tmp_path: Path) -> Path:
    """A documents directory with Markdown, text, a subdirectory and files to skip."""
    root = tmp_path / "docs"
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


def _index(use_case: str, docs: Path, store_url: str, size: int = 200, overlap: int = 20):
    return index_documents.fn(use_case, str(docs), size, overlap, store_url)


def test_index_documents_reports_counts(use_case: str, docs: Path, store_url: str) -> None:
    report = _index(use_case, docs, store_url)
    assert (report.added, report.changed, report.unchanged, report.removed) == (3, 0, 0, 0)
    assert (report.documents, report.chunks, report.chunks_written) == (3, 3, 3)


def test_index_documents_unchanged_rewrites_nothing(
    use_case: str, docs: Path, store_url: str
) -> None:
    first = _index(use_case, docs, store_url)
    again = _index(use_case, docs, store_url)
    assert (again.unchanged, again.chunks_written, again.documents_hash) == (
        3,
        0,
        first.documents_hash,
    )


def test_index_documents_rechunks_only_changed_document(
    use_case: str, docs: Path, store_url: str
) -> None:
    _index(use_case, docs, store_url)
    (docs / "uploads.md").write_text("# Uploads\n\nUploads pause.\n\nUploads resume.\n")
    report = _index(use_case, docs, store_url)
    assert (report.changed, report.unchanged, report.chunks_written) == (1, 2, 1)


def test_index_documents_rechunks_everything_when_settings_change(
    use_case: str, docs: Path, store_url: str
) -> None:
    first = _index(use_case, docs, store_url)
    report = _index(use_case, docs, store_url, size=30, overlap=0)
    assert (report.changed, report.chunks_written) == (3, report.chunks)
    assert report.chunks > first.chunks
    assert report.documents_hash != first.documents_hash


def test_index_documents_removes_deleted_file(use_case: str, docs: Path, store_url: str) -> None:
    _index(use_case, docs, store_url)
    (docs / "guides" / "sync.md").unlink()
    report = _index(use_case, docs, store_url)
    assert (report.removed, report.documents) == (1, 2)
    assert retrieve_passages.fn(use_case, ["LAN sync port"], 3, store_url) == [[]]


def test_index_documents_missing_directory_raises(tmp_path: Path, sqlite_url: str) -> None:
    with pytest.raises(InputError, match="documents directory not found"):
        _index("demo-qa", tmp_path / "missing", sqlite_url)


def test_index_documents_same_id_twice_raises(docs: Path, sqlite_url: str) -> None:
    (docs / "notes.md").write_text("# Notes\n\nSame id as notes.txt.\n")
    with pytest.raises(InputError, match="same document id 'notes'"):
        _index("demo-qa", docs, sqlite_url)


def test_index_documents_too_long_id_raises(docs: Path, sqlite_url: str) -> None:
    deep = docs.joinpath(*["d" * 100] * 5)
    deep.mkdir(parents=True)
    (deep / "page.md").write_text("text")
    with pytest.raises(InputError, match="document id longer than 500 characters"):
        _index("demo-qa", docs, sqlite_url)


def test_index_documents_non_utf8_file_raises(docs: Path, sqlite_url: str) -> None:
    (docs / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.txt: not UTF-8 text \(byte 3\)"):
        _index("demo-qa", docs, sqlite_url)


def test_index_documents_bad_chunk_settings_raise(docs: Path, sqlite_url: str) -> None:
    with pytest.raises(InputError, match="chunk_overlap"):
        _index("demo-qa", docs, sqlite_url, size=100, overlap=100)


def test_index_documents_failure_changes_nothing(docs: Path, sqlite_url: str) -> None:
    before = _index("demo-qa", docs, sqlite_url)
    (docs / "uploads.md").unlink()
    (docs / "zz-latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InputError):
        _index("demo-qa", docs, sqlite_url)
    passages = retrieve_passages.fn("demo-qa", ["maximum upload size"], 1, sqlite_url)
    assert [p.source for p in passages[0]] == ["uploads"]
    (docs / "zz-latin.txt").unlink()
    assert _index("demo-qa", docs, sqlite_url).documents_hash != before.documents_hash


def test_index_documents_unknown_use_case_raises(docs: Path, sqlite_url: str) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nope'"):
        _index("nope", docs, sqlite_url)


def test_retrieve_passages_answers_each_query_with_sources(
    use_case: str, docs: Path, store_url: str
) -> None:
    _index(use_case, docs, store_url)
    passages = retrieve_passages.fn(
        use_case, ["maximum upload size", "LAN sync port", "invoices first day"], 1, store_url
    )
    assert passages == [
        [Passage(source="uploads", text="The maximum size of a single upload is 5 GB.")],
        [Passage(source="guides/sync", text="The port used by LAN sync is 47120.")],
        [
            Passage(
                source="notes",
                text="# plain text\n\nInvoices are sent on the first day of each month.",
            )
        ],
    ]


def test_retrieve_passages_tolerates_fts_syntax(use_case: str, docs: Path, store_url: str) -> None:
    _index(use_case, docs, store_url)
    passages = retrieve_passages.fn(use_case, ['"upload*: -(size', "NEAR(sync"], 3, store_url)
    assert [[p.source for p in found][:1] for found in passages] == [["uploads"], ["guides/sync"]]


def test_retrieve_passages_finds_the_source_of_support_qa_questions(
    tmp_path: Path, store_url: str
) -> None:
    with store_session(store_url) as session:
        apply_spec(load_spec(SUPPORT_QA / "spec.yaml"), session=session)
    index_documents.fn("support-qa", str(SUPPORT_QA / "docs"), 600, 80, store_url)
    lines = (SUPPORT_QA / "eval.jsonl").read_text().splitlines()
    items = [EvalItem.model_validate_json(line) for line in lines]
    passages = retrieve_passages.fn("support-qa", [i.input for i in items], 3, store_url)
    assert retrieval_hit_rate(items, passages, k=3) >= 0.95


def _item(item_id: str, source: str | None) -> EvalItem:
    return EvalItem(id=item_id, input="q", expected="a", source=source)


def _found(*sources: str) -> list[Passage]:
    return [Passage(source=s, text="t") for s in sources]


def test_retrieval_hit_rate_counts_sources_within_k() -> None:
    items = [_item("1", "a"), _item("2", "b"), _item("3", None)]
    passages = [_found("x", "a"), _found("x", "y", "b"), _found("z")]
    assert (retrieval_hit_rate(items, passages, k=2), retrieval_hit_rate(items, passages, k=3)) == (
        0.5,
        1.0,
    )


def test_retrieval_hit_rate_is_none_without_sources() -> None:
    assert retrieval_hit_rate([_item("1", None)], [_found("a")], k=3) is None


def test_retrieval_hit_rate_rejects_mismatched_lengths() -> None:
    with pytest.raises(InputError, match="2 eval items but 1 passage lists"):
        retrieval_hit_rate([_item("1", "a"), _item("2", "b")], [_found("a")], k=3)
