"""The embeddings retriever against the real sandbox: indexing once, queries, failures, spec."""

import asyncio
import base64
import json
import math
from pathlib import Path

import httpx2
import numpy as np
import openai
import pytest
from pydantic import SecretStr

from state import embeddings
from state.db import store_session
from state.domain import EmbeddingMatrix
from state.errors import Conflict, InputError, ProviderError, ProviderUnreachable, SpecError
from state.settings import ProviderOptions
from state.spec import RagSettings, load_spec
from state.use_cases import apply_spec
from tasks.embedding_index import index_embeddings, nearest
from tasks.llm_embeddings import embed_all, embedding_batches
from tasks.retrieval import index_documents, retrieve_passages
from tests.plugins.sandbox_server import SandboxServer, dead_url
from tests.specs import write_spec

MODEL = "sandbox-base"
FILES = {
    "uploads.md": "# Uploads\n\nThe maximum size of a single upload is 5 GB.\n",
    "guides/sync.md": "# Sync\n\n## Network\n\nThe port used by LAN sync is 47120.\n",
    "billing.md": "# Billing\n\nInvoices are sent on the first day of each month.\n",
}


def _options(url: str, **overrides: object) -> ProviderOptions:
    values = {"base_url": url, "api_key": SecretStr("sk-test"), "timeout": 5.0} | overrides
    return ProviderOptions(**values)


@pytest.fixture(name="docs")
def docs_fixture(tmp_path: Path) -> Path:
    """A documents directory of three small Markdown files."""
    root = tmp_path / "docs"
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


@pytest.fixture(name="use_case")
def use_case_fixture(tmp_path: Path, store_url: str, docs: Path) -> str:
    """demo-qa registered and its documents indexed (full-text), on each backend."""
    with store_session(store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path / "spec")), session=session)
    index_documents.fn("demo-qa", str(docs), 200, 20, store_url)
    return "demo-qa"


def _embedding_calls(server: SandboxServer) -> int:
    return server.stats()["embeddings"]


def _search(use_case: str, queries: list[str], store_url: str, url: str, k: int = 1):
    return retrieve_passages.fn(
        use_case,
        queries,
        k,
        store_url,
        retriever="embeddings",
        embedding_model=MODEL,
        provider=_options(url),
    )


def _vectors(use_case: str, store_url: str) -> list[int]:
    with store_session(store_url) as session:
        return embeddings.load_embeddings(use_case, MODEL, session=session).chunk_ids


def test_index_embeddings_embeds_each_chunk_once(
    use_case: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    first = index_embeddings.fn(use_case, MODEL, store_url, _options(sandbox_url))
    again = index_embeddings.fn(use_case, MODEL, store_url, _options(sandbox_url))
    assert (first.embedded, first.provider_calls) == (3, 1)
    assert (again.embedded, again.provider_calls) == (0, 0)
    assert _embedding_calls(sandbox_server) == 1
    assert len(_vectors(use_case, store_url)) == 3


@pytest.fixture(name="gadgets")
def gadgets_fixture(tmp_path: Path, store_url: str) -> str:
    """demo-qa with 300 one-chunk documents indexed (full-text), on each backend."""
    docs = tmp_path / "gadgets"
    docs.mkdir()
    for n in range(300):
        (docs / f"d{n:03d}.md").write_text(f"# Item {n}\n\nGadget g{n} is painted shade {n}.\n")
    with store_session(store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path / "spec")), session=session)
    index_documents.fn("demo-qa", str(docs), 200, 20, store_url)
    return "demo-qa"


def test_index_embeddings_sends_one_request_per_128_chunks(
    gadgets: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    report = index_embeddings.fn(gadgets, MODEL, store_url, _options(sandbox_url))
    assert (report.embedded, report.provider_calls) == (300, 3)
    assert _embedding_calls(sandbox_server) == 3
    assert len(_vectors(gadgets, store_url)) == 300


def test_index_embeddings_keeps_earlier_rounds_when_a_later_one_fails(
    gadgets: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    # Seed 7: the sandbox answers its first request and fails its second with a 500.
    sandbox_server.admin("POST", "/sandbox/faults", {"fault_500": 0.5, "seed": 7})
    options = _options(sandbox_url, concurrency=1, max_retries=0)
    with pytest.raises(ProviderError, match="HTTP 500"):
        index_embeddings.fn(gadgets, MODEL, store_url, options)
    assert len(_vectors(gadgets, store_url)) == 128
    sandbox_server.admin("POST", "/sandbox/faults", {"fault_500": 0.0})
    again = index_embeddings.fn(gadgets, MODEL, store_url, options)
    assert (again.embedded, again.provider_calls) == (172, 2)


def test_retrieve_passages_by_embeddings_finds_the_distinctive_document(
    use_case: str, store_url: str, sandbox_url: str
) -> None:
    passages = _search(
        use_case,
        ["Which port does LAN sync use?", "When are invoices sent?"],
        store_url,
        sandbox_url,
    )
    assert [[p.source for p in found] for found in passages] == [["guides/sync"], ["billing"]]
    assert passages[0][0].text == "The port used by LAN sync is 47120."


def test_retrieve_passages_by_embeddings_embeds_queries_in_batches(
    use_case: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    index_embeddings.fn(use_case, MODEL, store_url, _options(sandbox_url))
    before = _embedding_calls(sandbox_server)
    queries = [f"upload size question {n}" for n in range(300)]
    passages = _search(use_case, queries, store_url, sandbox_url, k=5)
    assert _embedding_calls(sandbox_server) - before == math.ceil(300 / 128)
    assert {len(found) for found in passages} == {3}
    assert {found[0].source for found in passages} == {"uploads"}


def test_retrieve_passages_by_embeddings_skips_blank_queries(
    use_case: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    index_embeddings.fn(use_case, MODEL, store_url, _options(sandbox_url))
    before = _embedding_calls(sandbox_server)
    passages = _search(use_case, [" ", "maximum upload size"], store_url, sandbox_url)
    assert [[p.source for p in found] for found in passages] == [[], ["uploads"]]
    assert _embedding_calls(sandbox_server) - before == 1


def test_retrieve_passages_by_embeddings_embeds_chunks_indexed_since(
    use_case: str, docs: Path, store_url: str, sandbox_url: str
) -> None:
    index_embeddings.fn(use_case, MODEL, store_url, _options(sandbox_url))
    (docs / "billing.md").write_text("# Billing\n\nRefunds take five business days.\n")
    index_documents.fn(use_case, str(docs), 200, 20, store_url)
    passages = _search(use_case, ["How long do refunds take?"], store_url, sandbox_url)
    assert passages[0][0].text == "Refunds take five business days."
    assert len(_vectors(use_case, store_url)) == 3


def test_index_embeddings_provider_failure_raises_and_stores_nothing(
    use_case: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    sandbox_server.admin("POST", "/sandbox/faults", {"fault_500": 1.0})
    with pytest.raises(ProviderError) as info:
        index_embeddings.fn(use_case, MODEL, store_url, _options(sandbox_url, max_retries=1))
    assert str(info.value).startswith(
        "embeddings with model 'sandbox-base' failed: HTTP 500: Error code: 500 - The server had"
    )
    assert str(info.value).endswith(f"(2 attempts) at {sandbox_url}")
    assert _vectors(use_case, store_url) == []


def test_index_embeddings_gives_up_at_once_on_an_unreachable_endpoint(
    use_case: str, store_url: str
) -> None:
    url = dead_url()
    with pytest.raises(ProviderUnreachable, match=f"connection error.*\\(2 attempts\\) at {url}$"):
        index_embeddings.fn(use_case, MODEL, store_url, _options(url))
    assert _vectors(use_case, store_url) == []


def test_index_embeddings_unknown_model_is_not_retried(
    use_case: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    with pytest.raises(ProviderError, match="'text-embedding-3-small' failed: HTTP 404"):
        index_embeddings.fn(use_case, "text-embedding-3-small", store_url, _options(sandbox_url))
    assert _embedding_calls(sandbox_server) == 1


def test_index_embeddings_retries_malformed_bodies(
    use_case: str, store_url: str, sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    sandbox_server.admin("POST", "/sandbox/faults", {"malformed_share": 0.5, "seed": 2})
    report = index_embeddings.fn(use_case, MODEL, store_url, _options(sandbox_url))
    assert report.embedded == 3
    assert report.retries == sandbox_server.stats()["faults_malformed"] > 0


def test_retrieve_passages_refuses_vectors_of_other_dimensions(
    use_case: str, store_url: str, sandbox_url: str
) -> None:
    with store_session(store_url) as session:
        missing = embeddings.chunks_without_embedding(use_case, MODEL, session=session)
        ids = [c.chunk_id for c in missing]
        embeddings.save_embeddings(MODEL, ids, np.ones((len(ids), 4)), session=session)
    with pytest.raises(Conflict, match="query vectors have 256 dimensions but the stored ones 4"):
        _search(use_case, ["upload size"], store_url, sandbox_url)


def test_retrieve_passages_embeddings_needs_model_and_provider(
    use_case: str, store_url: str
) -> None:
    with pytest.raises(InputError, match="needs an embedding model and a provider"):
        retrieve_passages.fn(use_case, ["upload"], 1, store_url, retriever="embeddings")


def _double(handler) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return openai.AsyncOpenAI(
        base_url="http://test/v1", api_key="k", http_client=http, max_retries=0
    )


def _reply(*vectors: list[float]) -> httpx2.Response:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return httpx2.Response(200, json={"object": "list", "data": data, "model": MODEL})


def test_embed_all_stops_sending_after_a_batch_fails() -> None:
    sent: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(1)
        error = {"message": "overloaded", "type": "server_error", "code": None}
        return httpx2.Response(500, json={"error": error})

    async def main() -> None:
        await embed_all(_double(handler), MODEL, ["x"] * 300, concurrency=1, max_retries=0)

    with pytest.raises(ProviderError, match=r"HTTP 500: .*overloaded \(1 attempt\) at http"):
        asyncio.run(main())
    assert len(sent) == 1


def test_embed_all_accepts_float_lists_and_orders_by_index() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        data = [
            {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
            {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
        ]
        return httpx2.Response(200, json={"object": "list", "data": data, "model": MODEL})

    result = asyncio.run(embed_all(_double(handler), MODEL, ["a", "b"], max_retries=0))
    assert result.vectors.tolist() == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (([1.0, 0.0],), "1 embeddings for 2 inputs"),
        (([1.0, 0.0], [1.0]), "embeddings of different or no length"),
        (("not base64!",), "malformed response"),
    ],
)
def test_embed_all_refuses_a_body_of_another_shape(vectors: tuple, message: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return _reply(*vectors)

    with pytest.raises(ProviderError, match=message):
        asyncio.run(embed_all(_double(handler), MODEL, ["a", "b"], max_retries=0))


def test_embed_all_refuses_batches_of_different_lengths() -> None:
    lengths = iter([2, 3])

    def handler(request: httpx2.Request) -> httpx2.Response:
        size = next(lengths)
        packed = base64.b64encode(np.ones(size, "<f4").tobytes()).decode()
        return _reply(*[packed] * len(json.loads(request.content)["input"]))

    with pytest.raises(ProviderError, match="batches of different lengths"):
        asyncio.run(embed_all(_double(handler), MODEL, ["x"] * 200, concurrency=1))


def test_embedding_batches_cut_by_count_and_by_characters() -> None:
    assert embedding_batches(["a"] * 300) == [(0, 128), (128, 256), (256, 300)]
    assert embedding_batches(["a" * 6] * 5, size=4, max_chars=10) == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (4, 5),
    ]
    assert embedding_batches(["a" * 20, "b"], max_chars=10) == [(0, 1), (1, 2)]
    assert embedding_batches([]) == []


def test_nearest_ranks_by_cosine_with_ties_in_chunk_order() -> None:
    matrix = EmbeddingMatrix(
        chunk_ids=[10, 11, 12], vectors=np.array([[1, 0], [0, 1], [1, 0]], dtype="<f4")
    )
    queries = np.array([[2.0, 0.1], [0.0, 3.0]], dtype="<f4")
    assert nearest(matrix, queries, 2) == [[10, 12], [11, 10]]
    assert nearest(matrix, queries[:1], 10) == [[10, 12, 11]]


def test_rag_settings_default_to_fts_and_the_settings_embedding_model() -> None:
    settings = RagSettings()
    assert (settings.retriever, settings.embedding_model) == ("fts", None)


@pytest.mark.parametrize(
    ("rag", "message"),
    [
        ({"retriever": "bm25"}, "rag.retriever: Input should be 'fts' or 'embeddings'"),
        ({"embedding_model": ""}, "rag.embedding_model: String should have at least 1 character"),
        ({"embedding_model": "m" * 201}, "rag.embedding_model: String should have at most 200"),
    ],
)
def test_spec_rag_retriever_fields_are_validated(tmp_path: Path, rag: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec(write_spec(tmp_path, rag=rag))
