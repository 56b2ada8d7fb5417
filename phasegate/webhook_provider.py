"""Provider webhooks (OpenAI's batch and fine-tuning events): verify, dedupe, emit, flag.

`POST /v1/provider/openai` verifies a request with the openai SDK's `client.webhooks.unwrap`
(secret `PHASEGATE_OPENAI_WEBHOOK_SECRET`; its timestamp window is the SDK's 5 minutes), then
reserves its `webhook-id` in the store under the scope `openai:<object id>` — a replay is
refused like one of Phasegate's own — and emits the Prefect event `openai.<type>` about the
resource `openai.<kind>.<object id>`. The reservation is also the flag a waiting batch eval
reads between its polls (`Store.provider_event_received`): the webhook ends its wait at once.
If the event cannot be emitted, the reservation is released and the answer is 503, so that
OpenAI retries and nothing half-happened; polling still ends the wait meanwhile. A batch event
also ends the store's wait for that batch and resumes the check suspended on it, once all its
batches ended (tasks/batch_waits.py); if that fails, the batch poller resumes it later.
"""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import BaseModel, SecretStr

from phasegate.signing import WEBHOOK_ID
from phasegate.webhook_emit import Emit
from state.domain import Delivery, Replays, provider_scope
from state.errors import ApiError
from state.store_api import Store

logger = logging.getLogger(__name__)

PROVIDER = "openai"
EVENTS = frozenset(
    {
        "batch.completed",
        "batch.failed",
        "batch.cancelled",
        "batch.expired",
        "fine_tuning.job.succeeded",
        "fine_tuning.job.failed",
        "fine_tuning.job.cancelled",
    }
)


class ProviderEventTaken(BaseModel):
    """What became of a verified provider webhook."""

    type: str
    object_id: str
    event_id: str | None = None
    ignored: bool = False


@dataclass
class ProviderIntake:
    """Takes OpenAI's webhooks for one webhook process."""

    verify: Callable[[bytes, Mapping[str, str]], Any] | None
    store: Store
    replays: Replays
    emit: Emit
    store_slots: anyio.CapacityLimiter

    async def in_store(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run `work(*args)`, a method of the store, off the event loop."""
        return await anyio.to_thread.run_sync(work, *args, limiter=self.store_slots)

    def _verified(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The event, verified by the SDK; 503 without a secret, 401 for a bad signature."""
        # Imported on use, like the verifier: the other routes need no openai SDK.
        from openai import InvalidWebhookSignatureError

        if self.verify is None:
            raise ApiError(503, "not_configured", "PHASEGATE_OPENAI_WEBHOOK_SECRET is not set")
        try:
            return self.verify(body, headers)
        except InvalidWebhookSignatureError as exc:
            raise ApiError(401, "invalid_signature", f"webhook-signature: {exc}") from exc
        except ValueError as exc:  # a missing header, or a body that is not JSON
            raise ApiError(401, "invalid_signature", str(exc)) from exc

    @classmethod
    def of(
        cls,
        secret: SecretStr | None,
        store: Store,
        replays: Replays,
        emit: Emit,
        store_slots: anyio.CapacityLimiter,
    ) -> "ProviderIntake":
        """The intake of a webhook process; its verifier is built now, not per request."""
        verify = None
        if secret is not None:
            from tasks.llm import webhook_verifier

            verify = webhook_verifier(secret.get_secret_value())
        return cls(verify, store, replays, emit, store_slots)

    async def take(self, body: bytes, headers: Mapping[str, str]) -> ProviderEventTaken:
        """Verify a webhook; for a batch or fine-tuning event, record it once and emit it."""
        event = self._verified(body, headers)
        kind, object_id = str(event.type), str(getattr(event.data, "id", ""))
        if kind not in EVENTS or not object_id:
            return ProviderEventTaken(type=kind, object_id=object_id, ignored=True)
        webhook_id = headers.get("webhook-id", "")
        if not WEBHOOK_ID.fullmatch(webhook_id):
            raise ApiError(400, "invalid_webhook_id", "webhook-id: 1 to 128 of [A-Za-z0-9_-]")
        sent_at = int(headers.get("webhook-timestamp") or time.time())
        delivery = Delivery(provider_scope(object_id, PROVIDER), webhook_id, sent_at)
        if not await self.in_store(self.store.reserve_provider_event, self.replays, delivery):
            raise ApiError(401, "replayed", f"webhook-id: {webhook_id} was already received")
        resource = f"{kind.rsplit('.', 1)[0]}.{object_id}"
        payload = {"type": kind, "id": object_id, "event_id": str(event.id)}
        try:
            emitted = await anyio.to_thread.run_sync(
                self.emit, f"{PROVIDER}.{kind}", resource, payload
            )
        except Exception as exc:  # noqa: BLE001 - any failure to hand over the event is a 503
            await self.in_store(self.store.release_delivery, delivery)
            logger.warning("provider event %s of %s not emitted: %r", kind, object_id, exc)
            raise ApiError(503, "emit_failed", "provider event not emitted; retry") from exc
        if kind.startswith("batch."):
            await self.in_store(self._resume_waiting, object_id)
        return ProviderEventTaken(type=kind, object_id=object_id, event_id=str(emitted))

    def _resume_waiting(self, batch_id: str) -> None:
        """End the store's wait for a batch; resume its suspended run if nothing else runs."""
        # Imported on use, like the verifier: the other routes need no Prefect flow-run client.
        from tasks.batch_waits import resume_ready

        try:
            if (flow_run_id := self.store.end_batch_wait(batch_id)) is not None:
                resume_ready(self.store, flow_run_id)
        except Exception as exc:  # noqa: BLE001 - the batch poller resumes the run instead
            logger.warning("batch %s ended; its run was not resumed: %r", batch_id, exc)
