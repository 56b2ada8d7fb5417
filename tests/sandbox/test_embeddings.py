"""Embeddings: feature-hashing vectors, encodings, usage and errors."""

from __future__ import annotations

import math

import openai
import pytest

from tests.sandbox.helpers import client_for


def _vectors(url: str, texts: list[str], **kwargs: object) -> list[list[float]]:
    reply = client_for(url).embeddings.create(model="sandbox-base", input=texts, **kwargs)
    return [item.embedding for item in reply.data]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_have_256_unit_norm_dimensions(sandbox_url: str) -> None:
    (vector,) = _vectors(sandbox_url, ["refund policy for damaged parcels"])
    assert len(vector) == 256
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-5)


def test_embeddings_related_texts_are_closer_than_unrelated(sandbox_url: str) -> None:
    query, related, unrelated = _vectors(
        sandbox_url,
        ["refund for a damaged parcel", "damaged parcel refund rules", "volcano eruption lava"],
    )
    assert _cosine(query, related) > _cosine(query, unrelated) + 0.3


def test_embeddings_are_deterministic(sandbox_url: str) -> None:
    first = _vectors(sandbox_url, ["same text"])
    second = _vectors(sandbox_url, ["same text"])
    assert first == second


def test_embeddings_base64_matches_float_encoding(sandbox_url: str) -> None:
    as_base64 = _vectors(sandbox_url, ["warehouse in Leipzig"])[0]  # SDK default is base64
    as_float = _vectors(sandbox_url, ["warehouse in Leipzig"], encoding_format="float")[0]
    assert as_base64 == pytest.approx(as_float, abs=1e-6)


def test_embeddings_dimensions_parameter_sets_length(sandbox_url: str) -> None:
    (vector,) = _vectors(sandbox_url, ["short"], dimensions=64)
    assert len(vector) == 64


def test_embeddings_keep_input_order_and_count_tokens(sandbox_url: str) -> None:
    reply = client_for(sandbox_url).embeddings.create(
        model="sandbox-base", input=["one two", "three, four!"]
    )
    assert [item.index for item in reply.data] == [0, 1]
    assert reply.usage.prompt_tokens == 2 + 4  # "three" "," "four" "!"


def test_embeddings_unknown_model_is_404(sandbox_url: str) -> None:
    with pytest.raises(openai.NotFoundError):
        client_for(sandbox_url).embeddings.create(model="nope", input="x")
