"""Canonical JSON and its sha256: the bytes behind content hashes, cache keys and ETags."""

import hashlib
import json
from typing import Any


def canonical_json(value: Any, *, ensure_ascii: bool = True) -> str:
    """`value` as JSON with sorted keys and no whitespace.

    Stored hashes were made both with escaped and with kept non-ASCII characters, so each
    caller keeps its `ensure_ascii`: changing it would change every hash it made.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)


def content_hash(value: Any, *, ensure_ascii: bool = True) -> str:
    """The sha256 hex digest of `value`'s canonical JSON."""
    return hashlib.sha256(canonical_json(value, ensure_ascii=ensure_ascii).encode()).hexdigest()
