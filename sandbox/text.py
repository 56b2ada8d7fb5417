"""Tokenizer, word-overlap similarity and feature-hashing embeddings used by the sandbox."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from functools import lru_cache

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
WORD_RE = re.compile(r"\w+")
EMBED_DIMS = 256
MESSAGE_OVERHEAD = 4

STOPWORDS = frozenset(
    """
    a about all also am an and any are as at be been but by can could did do does for from
    had has have he her his how i if in into is it its me my of on or our please she should
    so than that the their them then there these they this those to us was we were what when
    where which who whom why will with would you your
    """.split()
)


def tokens(text: str) -> list[str]:
    """Split text into tokens: runs of word characters, or single punctuation marks."""
    return TOKEN_RE.findall(text)


@lru_cache(maxsize=16384)
def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(TOKEN_RE.findall(text))


def prompt_tokens(contents: list[str]) -> int:
    """Prompt tokens of a chat request: tokens of every message content plus 4 per message."""
    return sum(count_tokens(c) + MESSAGE_OVERHEAD for c in contents)


def truncate_tokens(text: str, limit: int) -> tuple[str, bool]:
    """Cut ``text`` after its ``limit``-th token; returns (text, was_truncated)."""
    for i, match in enumerate(TOKEN_RE.finditer(text)):
        if i + 1 == limit:
            end = match.end()
            return text[:end], end < len(text.rstrip())
    return text, False


def normalise(word: str) -> str:
    """Drop a plural ``s`` from words longer than 3 letters (``refunds`` -> ``refund``)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """Lowercased, plural-normalised word tokens of ``text`` without stopwords."""
    return frozenset(normalise(w) for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS)


def overlap(query: frozenset[str], other: frozenset[str]) -> float:
    """Share of the query's content words that also occur in ``other`` (|Q∩O| / |Q|)."""
    if not query:
        return 0.0
    return len(query & other) / len(query)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Symmetric similarity |A∩B| / |A∪B| (used to break overlap ties)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def token_f1(candidate: str, reference: str) -> float:
    """F1 of content-word overlap between a candidate and a reference text."""
    cand, ref = content_words(candidate), content_words(reference)
    common = len(cand & ref)
    if not common:
        return 0.0
    precision, recall = common / len(cand), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def stable_hash(text: str) -> int:
    """64-bit hash of ``text`` that is identical across processes (blake2b, not ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def unit_share(text: str) -> float:
    """Map ``text`` deterministically to a number in [0, 1)."""
    return stable_hash(text) / 2**64


def _features(text: str) -> list[str]:
    """Embedding features: content words (all words if none) plus bigrams of them."""
    words = WORD_RE.findall(text.lower())
    content = [normalise(w) for w in words if w not in STOPWORDS] or words
    return content + [f"{a} {b}" for a, b in zip(content, content[1:], strict=False)]


@lru_cache(maxsize=16384)
def embed(text: str, dims: int = EMBED_DIMS) -> tuple[float, ...]:
    """Feature-hashed, signed, L2-normalised embedding of ``text``."""
    vec = [0.0] * dims
    for feature in _features(text) or ["<empty>"]:
        h = stable_hash(feature)
        vec[h % dims] += 1.0 if (h >> 63) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return tuple(v / norm for v in vec)


def pack_base64(vec: tuple[float, ...]) -> str:
    """Encode a vector as base64 little-endian float32 (OpenAI's ``encoding_format=base64``)."""
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
