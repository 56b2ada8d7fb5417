"""In-memory files and the fine-tuning job record (see ``lifecycle`` for its progress)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import not_found

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


@dataclass
class StoredFile:
    """An uploaded file kept in memory."""

    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        """OpenAI ``file`` object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


class FileStore:
    """Files by id."""

    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}

    def add(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        """Store a new file."""
        file_id = f"file-{secrets.token_hex(12)}"
        stored = StoredFile(file_id, filename, purpose, data, int(time.time()))
        self.files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        """Return a file or raise a 404 API error."""
        if file_id not in self.files:
            raise not_found("file", file_id, code="file_not_found")
        return self.files[file_id]


@dataclass
class Job:
    """A fine-tuning job; ``refresh`` materialises its progress at a given time."""

    id: str
    created: float
    duration: float
    model: str
    base: str
    parent_pairs: tuple
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    hyperparameters: dict[str, Any]
    metadata: dict[str, str] | None = None
    status: str = "validating_files"
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    plan: list | None = None
    error: dict[str, Any] | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    trained_tokens: int | None = None
    result_files: list[str] = field(default_factory=list)
    train_examples: list = field(default_factory=list)

    @property
    def short(self) -> str:
        """First 8 hex characters of the job id (used in model names)."""
        return self.id.removeprefix("ftjob-")[:8]

    def event(
        self, at: float, message: str, level: str = "info", data: Any = None, kind: str = "message"
    ) -> None:
        """Append an event that happened at time ``at``."""
        self.events.append(
            {
                "id": f"ftevent-{self.short}{len(self.events):04d}",
                "object": "fine_tuning.job.event",
                "created_at": int(at),
                "level": level,
                "message": message,
                "type": kind,
                "data": data,
            }
        )

    def to_json(self) -> dict[str, Any]:
        """OpenAI ``fine_tuning.job`` object."""
        running = self.status not in TERMINAL
        return {
            "id": self.id,
            "object": "fine_tuning.job",
            "created_at": int(self.created),
            "error": self.error,
            "fine_tuned_model": self.fine_tuned_model,
            "finished_at": self.finished_at,
            "hyperparameters": self.hyperparameters,
            "model": self.model,
            "organization_id": "org-sandbox",
            "result_files": self.result_files,
            "seed": self.seed,
            "status": self.status,
            "trained_tokens": self.trained_tokens,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "user_provided_suffix": self.suffix,
            "estimated_finish": int(self.created + self.duration) if running else None,
            "integrations": [],
            "metadata": self.metadata,
            "method": {
                "type": "supervised",
                "supervised": {"hyperparameters": self.hyperparameters},
            },
        }
