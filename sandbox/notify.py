"""Webhooks the sandbox sends when a batch or a fine-tuning job ends, signed as OpenAI signs them.

Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` =
`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the base64 part of the
`whsec_` secret; the openai SDK's `client.webhooks.unwrap` verifies them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from typing import Any

import httpx

#: Attempts per webhook and the pause before the next one (OpenAI retries for longer).
ATTEMPTS = 3
RETRY_SECONDS = 0.2
KEPT = 50


def signed(secret: str, body: bytes, webhook_id: str, timestamp: int) -> dict[str, str]:
    """The headers of one webhook."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{digest}",
        "content-type": "application/json",
    }


class Notifier:
    """Sends webhooks in the background and keeps the last ones sent (for `/sandbox/webhooks`)."""

    def __init__(self) -> None:
        self.sent: deque[dict[str, Any]] = deque(maxlen=KEPT)
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, work: Any) -> None:
        """Run a coroutine on the server's loop, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def cancel_all(self) -> None:
        """Stop every watcher and pending delivery (a full reset)."""
        for task in list(self.tasks):
            task.cancel()

    def send(
        self, url: str | None, secret: str | None, kind: str, object_id: str, stats: dict
    ) -> None:
        """Send `{type: kind, data: {id: object_id}}` to `url` (nothing without a URL)."""
        if not url or not secret:
            return
        now = int(time.time())
        event = {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "created_at": now,
            "type": kind,
            "data": {"id": object_id},
        }
        body = json.dumps(event).encode()
        headers = signed(secret, body, f"wh_{secrets.token_hex(12)}", now)
        record = {"url": url, "headers": headers, "body": body.decode(), "status": None}
        self.sent.append(record)
        self.spawn(self._deliver(url, body, headers, record, stats))

    async def _deliver(
        self, url: str, body: bytes, headers: dict, record: dict, stats: dict
    ) -> None:
        """POST the webhook, retrying a refused connection or a 5xx a few times."""
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(ATTEMPTS):
                try:
                    response = await client.post(url, content=body, headers=headers)
                    record["status"] = response.status_code
                    if response.status_code < 500:
                        break
                except httpx.HTTPError as exc:
                    record["status"] = f"error: {type(exc).__name__}"
                if attempt + 1 < ATTEMPTS:
                    await asyncio.sleep(RETRY_SECONDS * 2**attempt)
        ok = isinstance(record["status"], int) and record["status"] < 300
        stats["webhooks_sent" if ok else "webhooks_failed"] += 1
