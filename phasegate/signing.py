"""Standard Webhooks signatures, with the target of a request inside what is signed.

A request carries `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`:
`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{payload}")>`, several separated by spaces while
a secret rotates. A secret is `whsec_<base64 key>`. The payload of a POST is its body, which
names its target (`"target": "POST /v1/usecases/support-qa/usage"`); a GET has no body, so its
payload is its target itself (`GET /v1/usecases/support-qa/active`). A request signed for one
use case or route therefore never verifies, or never acts, on another.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from state.domain import Delivery
from state.errors import SignatureError
from state.settings import webhook_key

WINDOW_SECONDS = 300
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
# Bounds what one request can make the server compute: ids are short, signatures few.
WEBHOOK_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
MAX_SIGNATURES = 8


def new_secret() -> str:
    """A fresh secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


def target(method: str, path: str) -> str:
    """What a request acts on, as signed: `POST /v1/usecases/x/usage`."""
    return f"{method} {path}"


def sign(key: bytes, webhook_id: str, timestamp: int, payload: bytes) -> str:
    """One `webhook-signature` entry: `v1,` and the base64 HMAC of the signed content."""
    content = f"{webhook_id}.{timestamp}.".encode() + payload
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signed_headers(
    secrets: str | Sequence[str],
    payload: bytes,
    *,
    webhook_id: str | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The three headers that authenticate `payload`, signed with each of `secrets`."""
    keys = [webhook_key(s) for s in ([secrets] if isinstance(secrets, str) else secrets)]
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time() if now is None else now)
    return {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(sign(key, webhook_id, timestamp, payload) for key in keys),
    }


def signed_request(
    secrets: str | Sequence[str],
    method: str,
    path: str,
    payload: Mapping[str, object] | None = None,
    *,
    now: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a signed request: a POST's body names its target, a GET signs it.

    `payload` is the body's other fields (None for a GET).
    """
    aimed = target(method, path)
    if payload is None:
        return b"", signed_headers(secrets, aimed.encode(), now=now)
    body = json.dumps({"target": aimed, **payload}).encode()
    headers = signed_headers(secrets, body, now=now)
    return body, headers | {"Content-Type": "application/json"}


def verify(
    keys: Sequence[bytes],
    headers: Mapping[str, str],
    payload: bytes,
    *,
    now: float,
    window: int = WINDOW_SECONDS,
) -> tuple[str, int]:
    """Check the headers of a request against `keys`; return its id and timestamp.

    Raises SignatureError naming the header at fault.
    """
    webhook_id, timestamp, signatures = (
        headers.get(ID_HEADER),
        headers.get(TIMESTAMP_HEADER),
        headers.get(SIGNATURE_HEADER),
    )
    if not webhook_id or not timestamp or not signatures:
        raise SignatureError(
            "missing_signature",
            f"{ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required",
        )
    if not WEBHOOK_ID.fullmatch(webhook_id):
        raise SignatureError("bad_webhook_id", f"{ID_HEADER}: must match {WEBHOOK_ID.pattern}")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise SignatureError("bad_timestamp", f"{TIMESTAMP_HEADER}: must be unix seconds")
    sent = int(timestamp)
    if abs(now - sent) > window:
        raise SignatureError(
            "stale_timestamp",
            f"{TIMESTAMP_HEADER}: {sent} is more than {window} s from the server's clock "
            f"({int(now)})",
        )
    offered = signatures.split()
    if len(offered) > MAX_SIGNATURES:
        raise SignatureError(
            "bad_signature", f"{SIGNATURE_HEADER}: more than {MAX_SIGNATURES} signatures"
        )
    expected = [sign(key, webhook_id, sent, payload).encode() for key in keys]
    # Every comparison runs in constant time; entries of other versions never match.
    if not any(hmac.compare_digest(o.encode(), e) for o in offered for e in expected):
        raise SignatureError(
            "bad_signature",
            f"{SIGNATURE_HEADER}: no v1 signature matches HMAC-SHA256 of "
            "'{webhook-id}.{webhook-timestamp}.{payload}' with a secret of this use case",
        )
    return webhook_id, sent


@dataclass(frozen=True)
class Authenticator:
    """Checks signed requests against the secrets of their use case, else the shared ones."""

    shared: tuple[bytes, ...]
    by_use_case: Mapping[str, tuple[bytes, ...]]
    window: int = WINDOW_SECONDS

    @classmethod
    def from_secrets(
        cls, shared: Sequence[SecretStr], by_use_case: Mapping[str, Sequence[SecretStr]]
    ) -> "Authenticator":
        """An authenticator for `whsec_` secrets (validated by the settings)."""

        def keys(secrets: Sequence[SecretStr]) -> tuple[bytes, ...]:
            return tuple(webhook_key(secret.get_secret_value()) for secret in secrets)

        return cls(keys(shared), {name: keys(s) for name, s in by_use_case.items() if s})

    def authenticate(self, use_case: str, headers: Mapping[str, str], payload: bytes) -> Delivery:
        """Verify a request for `use_case`; return its delivery (to reserve against replays)."""
        keys = self.by_use_case.get(use_case) or self.shared
        if not keys:
            raise SignatureError("secret_not_configured", "webhook secret not configured", 503)
        webhook_id, sent = verify(keys, headers, payload, now=time.time(), window=self.window)
        return Delivery(use_case, webhook_id, sent)
