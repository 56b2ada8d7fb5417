"""Mutable state of one sandbox app: config, counters, files, jobs and tuned models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sandbox import batches
from sandbox.batches import Batch, Limits
from sandbox.chat import answer_chat, validate_chat
from sandbox.config import SandboxConfig
from sandbox.errors import bad_request
from sandbox.fine_tuning import TERMINAL, FileStore, Job
from sandbox.lifecycle import refresh
from sandbox.notify import Notifier
from sandbox.reader import BASE_MODELS, TunedModel

STAT_KEYS = (
    "chat_completions",
    "chat_completions_ok",
    "embeddings",
    "embeddings_ok",
    "models",
    "files_create",
    "files_list",
    "files_retrieve",
    "files_content",
    "files_delete",
    "jobs_create",
    "jobs_list",
    "jobs_retrieve",
    "jobs_events",
    "jobs_checkpoints",
    "jobs_cancel",
    "faults_429",
    "faults_500",
    "faults_hang",
    "faults_malformed",
    "prompt_tokens",
    "completion_tokens",
    "max_in_flight",
    "batches_create",
    "batches_retrieve",
    "batches_list",
    "batches_cancel",
    "batch_requests",
    "batch_requests_ok",
    "webhooks_sent",
    "webhooks_failed",
)


class SandboxState:
    """Everything a sandbox instance remembers between requests."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial = config.model_copy()
        self.config = config.model_copy()
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)
        self.in_flight = 0
        self.counter = 0
        self.files = FileStore()
        self.jobs: dict[str, Job] = {}
        self.models: dict[str, TunedModel] = {}
        self.batches: dict[str, Batch] = {}
        self.notifier = Notifier()

    def next_counter(self) -> int:
        """Sequence number of a chat/embeddings request (seeds its fault stream)."""
        self.counter += 1
        return self.counter

    def enter(self) -> None:
        """Mark a request as in flight."""
        self.in_flight += 1
        if self.in_flight > self.stats["max_in_flight"]:
            self.stats["max_in_flight"] = self.in_flight

    def leave(self) -> None:
        """Mark a request as finished."""
        self.in_flight -= 1

    def reset(self, everything: bool = False) -> None:
        """Zero counters, restore the start-up config, clear degradation; optionally drop data."""
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        self.counter = 0
        self.config = self.initial.model_copy()
        self.notifier.sent.clear()
        for model in self.models.values():
            model.degrade = 0.0
        if everything:
            self.notifier.cancel_all()
            self.files = FileStore()
            self.jobs.clear()
            self.models.clear()
            self.batches.clear()

    def set_faults(self, update: dict[str, Any]) -> SandboxConfig:
        """Change config fields at runtime (validated like the constructor)."""
        try:
            self.config = SandboxConfig.model_validate({**self.config.model_dump(), **update})
        except ValueError as exc:
            raise bad_request(f"Invalid fault settings: {exc}") from None
        return self.config

    def thresholds(self) -> tuple[float, float]:
        """(tuned-model threshold, reader threshold)."""
        return self.config.tuned_threshold, self.config.answer_threshold

    def refresh(self, job: Job) -> Job:
        """Bring one job up to date; a job that ends now sends its webhook."""
        running = job.status not in TERMINAL
        refresh(job, self.files, self.models, self.config)
        if running and job.status in TERMINAL:
            self.notify(f"fine_tuning.job.{job.status}", job.id)
        return job

    def notify(self, kind: str, object_id: str) -> None:
        """Send a webhook `kind` about `object_id` when a webhook URL is configured."""
        config = self.config
        self.notifier.send(config.webhook_url, config.webhook_secret, kind, object_id, self.stats)

    def watch(self, next_change: Callable[[], float | None], advance: Callable[[], Any]) -> None:
        """Advance an object at each of its status changes, so it ends (and notifies) on time."""

        async def run() -> None:
            while (at := next_change()) is not None:
                # A hair past the change, so that `advance` sees it happened.
                await asyncio.sleep(max(0.0, at - time.time()) + 0.002)
                advance()

        self.notifier.spawn(run())

    def answer_line(self, body: dict[str, Any]) -> dict[str, Any]:
        """A batch line answered by the chat mechanics of `/v1/chat/completions`."""
        self.stats["batch_requests"] += 1
        completion = answer_chat(self, validate_chat(self, body))
        self.stats["batch_requests_ok"] += 1
        return completion

    def refresh_batch(self, batch: Batch) -> Batch:
        """Bring one batch up to date; a batch that ends now sends its webhook."""
        limits = Limits(self.config.batch_max_requests, self.config.batch_max_bytes)
        if batches.refresh(batch, self.files, self.answer_line, limits, time.time()):
            self.notify(f"batch.{batch.status}", batch.id)
        return batch

    def refresh_all(self) -> None:
        """Bring every job up to date (so finished jobs register their models)."""
        for job in list(self.jobs.values()):
            self.refresh(job)

    def base_models(self) -> tuple[str, ...]:
        """The built-in models, then the configured extra ones."""
        return BASE_MODELS + tuple(m for m in self.config.extra_models if m not in BASE_MODELS)

    def behaviour(self, model: str) -> str:
        """The built-in reader mechanics a base model answers with."""
        return self.config.extra_models.get(model, model)

    def known_model(self, model: str) -> bool:
        """Whether ``model`` is a base model or a registered tuned model."""
        if model in self.base_models() or model in self.models:
            return True
        if model.startswith("ft:"):
            self.refresh_all()
        return model in self.models

    def shutdown_date(self, model: str) -> date | None:
        """A model's announced shutdown date; a tuned model stops with its base model."""
        dates = self.config.shutdown_dates
        tuned = self.models.get(model)
        own, base = dates.get(model), dates.get(tuned.base) if tuned else None
        return min((d for d in (own, base) if d is not None), default=None)

    def shut_down(self, model: str) -> date | None:
        """The shutdown date if it has passed (today UTC counts): the model no longer answers."""
        when = self.shutdown_date(model)
        return when if when is not None and when <= datetime.now(UTC).date() else None

    def model_object(self, model: str, created: int, owned_by: str) -> dict[str, Any]:
        """One OpenAI ``model`` object, with ``shutdown_date`` when one is announced."""
        obj: dict[str, Any] = {"id": model, "object": "model", "created": created}
        obj["owned_by"] = owned_by
        when = self.shutdown_date(model)
        if when is not None:
            obj["shutdown_date"] = when.isoformat()
        return obj

    def model_list(self) -> list[dict[str, Any]]:
        """OpenAI ``model`` objects: base models, then tuned models (checkpoints excluded)."""
        self.refresh_all()
        out = [self.model_object(m, 1700000000, "sandbox") for m in self.base_models()]
        out += [
            self.model_object(t.id, t.created, t.owned_by)
            for t in self.models.values()
            if not t.checkpoint
        ]
        return out
