"""HMAC-SHA256 request signatures with a replay window, and the cache that refuses replays."""

import hashlib
import heapq
import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from state.errors import SignatureError

WINDOW_SECONDS = 300
TIMESTAMP_HEADER = "X-Phasegate-Timestamp"
SIGNATURE_HEADER = "X-Phasegate-Signature"
PREFIX = "sha256="
SAFE_METHODS = frozenset({"GET", "HEAD"})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value of `body` sent at `timestamp`: `sha256=<hex>`."""
    message = str(timestamp).encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The two headers that authenticate a request carrying `body` (b"" for GET)."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    window: int = WINDOW_SECONDS,
) -> int:
    """Check the headers of a request and return its timestamp; raises SignatureError."""
    if not timestamp or not signature:
        raise SignatureError(
            "missing_signature", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required"
        )
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise SignatureError("bad_timestamp", f"{TIMESTAMP_HEADER}: must be unix seconds")
    sent = int(timestamp)
    if abs(now - sent) > window:
        raise SignatureError(
            "stale_timestamp",
            f"{TIMESTAMP_HEADER}: {sent} is more than {window} s from the server's clock "
            f"({int(now)})",
        )
    # Compare the whole header in constant time so a malformed value leaks nothing either.
    if not hmac.compare_digest(signature.encode(), sign(secret, sent, body).encode()):
        raise SignatureError(
            "bad_signature",
            f"{SIGNATURE_HEADER}: does not match HMAC-SHA256(secret, timestamp + '.' + body)",
        )
    return sent


class ReplayCache:
    """Remembers accepted signatures until their timestamp leaves the window; thread-safe.

    Bounded: when it is full of live entries it refuses new ones rather than forget one
    that could then be replayed.
    """

    def __init__(self, max_entries: int = 500_000, window: int = WINDOW_SECONDS) -> None:
        self.max_entries = max_entries
        self.window = window
        self._expiry: dict[tuple[str, ...], float] = {}
        self._heap: list[tuple[float, tuple[str, ...]]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def reserve(self, key: tuple[str, ...], timestamp: int, *, now: float) -> bool:
        """Remember `key` until `timestamp` goes stale; False if it is already remembered.

        Raises OverflowError when the cache is full of entries that are still live.
        """
        with self._lock:
            self._purge(now)
            if key in self._expiry:
                return False
            if len(self._expiry) >= self.max_entries:
                raise OverflowError("replay cache full")
            expires = timestamp + self.window
            self._expiry[key] = expires
            heapq.heappush(self._heap, (expires, key))
            return True

    def release(self, key: tuple[str, ...]) -> None:
        """Forget `key`, so that the same request may be retried after a failure."""
        with self._lock:
            self._expiry.pop(key, None)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            expires, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires:
                del self._expiry[key]


@dataclass
class Authenticator:
    """Checks signed requests against the secret of their use case and the replay cache."""

    secret: SecretStr | None
    secrets_by_use_case: Mapping[str, SecretStr]
    replays: ReplayCache

    def authenticate(
        self,
        use_case: str,
        method: str,
        path: str,
        timestamp: str | None,
        signature: str | None,
        body: bytes,
    ) -> tuple[str, str, str] | None:
        """Verify a request and hold a POST in the replay cache; return the key that holds it.

        The key is method, path and signature: `{}` sent in the same second to two use cases
        is two requests, not a replay. GET is not held: it changes nothing, and two readers
        polling the same configuration in the same second send identical signed requests.
        """
        secret = self.secrets_by_use_case.get(use_case) or self.secret
        if secret is None:
            raise SignatureError("secret_not_configured", "webhook secret not configured", 503)
        now = time.time()
        sent = verify(secret.get_secret_value(), timestamp, signature, body, now=now)
        if method in SAFE_METHODS:
            return None
        key = (method, path, signature or "")
        try:
            fresh = self.replays.reserve(key, sent, now=now)
        except OverflowError as exc:
            raise SignatureError(
                "replay_cache_full", "too many requests; retry later", 503
            ) from exc
        if not fresh:
            raise SignatureError("replayed", f"{SIGNATURE_HEADER}: request already received")
        return key
