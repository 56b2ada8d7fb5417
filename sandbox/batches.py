"""Batch jobs of the sandbox: input validation, progress with time, output and error files.

A batch is lazy, like a fine-tuning job: its status is computed from the time since creation.
Of `duration`, the first 10 % validates the input file, lines are answered evenly until 90 %
(finalizing), and the batch completes at 100 %. A batch with `expires_after` shorter than that
stops there as `expired`; a cancelled one stops at once and ends `cancelled` a moment later.
Lines not answered by then go to the error file with `batch_expired` / `batch_cancelled`.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import APIError
from sandbox.fine_tuning import FileStore

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
VALIDATED_AT, FINALIZING_AT = 0.1, 0.9
#: Share of the duration a cancelling batch takes to become cancelled.
CANCEL_SHARE = 0.05
MAX_FILE_ERRORS = 100
STOPPED = {
    "expired": "This request could not be executed before the completion window expired.",
    "cancelled": "This request was not executed because the batch was cancelled.",
}

Answer = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Limits:
    """Input limits of one batch."""

    max_requests: int
    max_bytes: int


@dataclass
class Batch:
    """One batch and what it has done so far."""

    id: str
    created: float
    duration: float
    expires_after: float | None
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    status: str = "validating"
    lines: list[tuple[str, dict[str, Any]]] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    errors_out: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    errors: dict[str, Any] | None = None
    times: dict[str, int] = field(default_factory=dict)
    cancel_at: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None

    @property
    def stop_at(self) -> float:
        """When the batch stops unfinished (its expiry), or infinity."""
        return math.inf if self.expires_after is None else self.created + self.expires_after

    def at(self, share: float) -> float:
        """The time at `share` of the duration."""
        return self.created + share * self.duration

    def next_change(self) -> float | None:
        """When the status changes next (None once terminal): what a watcher sleeps until."""
        if self.status in TERMINAL:
            return None
        if self.cancel_at is not None:
            return self.cancel_at + CANCEL_SHARE * self.duration
        if self.lines is None:
            return min(self.at(VALIDATED_AT), self.stop_at)
        return min(self.at(1.0), self.stop_at)

    def to_json(self) -> dict[str, Any]:
        """OpenAI ``batch`` object."""
        total = len(self.lines or [])
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": self.errors,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created),
            "expires_at": int(self.created + (self.expires_after or 24 * 3600)),
            **{f"{name}_at": self.times.get(name) for name in _TIMES},
            "request_counts": {
                "total": total,
                "completed": len(self.outputs),
                "failed": len(self.errors_out) + (total - self.done if self.terminal else 0),
            },
            "metadata": self.metadata,
        }

    @property
    def terminal(self) -> bool:
        """Whether the batch has finished, one way or another."""
        return self.status in TERMINAL


_TIMES = (
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
)


def parse_input(data: bytes, endpoint: str, limits: Limits) -> tuple[list, list[dict]]:
    """The lines of an input file as (custom_id, body), and the file's errors with their line."""
    errors: list[dict[str, Any]] = []

    def fail(code: str, message: str, line: int | None = None) -> None:
        if len(errors) < MAX_FILE_ERRORS:
            errors.append({"code": code, "message": message, "param": None, "line": line})

    if len(data) > limits.max_bytes:
        fail("file_too_large", f"The input file is over {limits.max_bytes} bytes.")
        return [], errors
    lines, seen = [], set()
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError:
            fail("invalid_json_line", f"Line {number} is not valid JSON.", number)
            continue
        custom_id = row.get("custom_id") if isinstance(row, dict) else None
        if not isinstance(custom_id, str) or not custom_id:
            fail("missing_custom_id", f"Line {number} has no custom_id.", number)
        elif custom_id in seen:
            fail("duplicate_custom_id", f"Line {number} repeats custom_id {custom_id}.", number)
        elif row.get("method") != "POST" or row.get("url") != endpoint:
            fail("invalid_url", f"Line {number} must be POST {endpoint}.", number)
        elif not isinstance(row.get("body"), dict):
            fail("missing_body", f"Line {number} has no body object.", number)
        else:
            seen.add(custom_id)
            lines.append((custom_id, row["body"]))
    if not lines and not errors:
        fail("empty_file", "The input file has no requests.")
    if len(lines) > limits.max_requests:
        fail("too_many_requests", f"The input file has over {limits.max_requests} requests.")
    return lines, errors


def _entry(custom_id: str, status: int | None, body: Any, error: Any = None) -> dict[str, Any]:
    """One line of an output or error file."""
    response = None
    if status is not None:
        request_id = f"req_{secrets.token_hex(8)}"
        response = {"status_code": status, "request_id": request_id, "body": body}
    return {
        "id": f"batch_req_{secrets.token_hex(12)}",
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }


def _run_lines(batch: Batch, until: float, answer: Answer) -> None:
    """Answer the lines due by `until` (they are spread evenly over the in-progress span)."""
    lines = batch.lines or []
    span = (FINALIZING_AT - VALIDATED_AT) * batch.duration
    share = min(max((until - batch.at(VALIDATED_AT)) / span, 0.0), 1.0)
    due = len(lines) if share >= 1.0 else math.floor(len(lines) * share)
    for custom_id, body in lines[batch.done : due]:
        try:
            batch.outputs.append(_entry(custom_id, 200, answer(body)))
        except APIError as exc:
            batch.errors_out.append(_entry(custom_id, exc.status, exc.body()))
    batch.done = max(batch.done, due)


def _finish(batch: Batch, status: str, at: float, files: FileStore) -> None:
    """End the batch: unanswered lines become errors; write the output and error files."""
    lines = batch.lines or []
    if status in STOPPED:
        for custom_id, _ in lines[batch.done :]:
            error = {"code": f"batch_{status}", "message": STOPPED[status]}
            batch.errors_out.append(_entry(custom_id, None, None, error))
        batch.done = len(lines)
    for kind, rows in (("output", batch.outputs), ("error", batch.errors_out)):
        if rows:
            data = "".join(json.dumps(row) + "\n" for row in rows).encode()
            stored = files.add(f"{batch.id}_{kind}.jsonl", "batch_output", data)
            setattr(batch, f"{kind}_file_id", stored.id)
    batch.status = status
    batch.times[status] = int(at)


def _input(batch: Batch, files: FileStore) -> bytes:
    """The bytes of the batch's input file (none if it was deleted)."""
    stored = files.files.get(batch.input_file_id)
    return stored.data if stored else b""


def refresh(batch: Batch, files: FileStore, answer: Answer, limits: Limits, now: float) -> bool:
    """Advance `batch` to its state at `now`; True when it has just finished."""
    if batch.terminal:
        return False
    if batch.lines is None and batch.cancel_at is not None:
        # Cancelled while validating: its requests are counted, none is answered.
        batch.lines, _ = parse_input(_input(batch, files), batch.endpoint, limits)
    if batch.lines is None:
        start = min(batch.at(VALIDATED_AT), batch.stop_at)
        if now < start:
            return False
        batch.lines, problems = parse_input(_input(batch, files), batch.endpoint, limits)
        if problems or start == batch.stop_at:
            batch.errors = {"object": "list", "data": problems} if problems else None
            _finish(batch, "failed" if problems else "expired", start, files)
            return True
        batch.status = "in_progress"
        batch.times["in_progress"] = int(start)
    if batch.cancel_at is not None:
        _run_lines(batch, batch.cancel_at, answer)
        done_at = batch.cancel_at + CANCEL_SHARE * batch.duration
        if now >= done_at:
            _finish(batch, "cancelled", done_at, files)
        return batch.terminal
    _run_lines(batch, min(now, batch.stop_at), answer)
    if now >= batch.stop_at and batch.stop_at < batch.at(FINALIZING_AT):
        _finish(batch, "expired", batch.stop_at, files)
        return True
    if now >= batch.at(FINALIZING_AT) and batch.status == "in_progress":
        batch.status = "finalizing"
        batch.times["finalizing"] = int(batch.at(FINALIZING_AT))
    if now >= batch.at(1.0):
        _finish(batch, "completed", batch.at(1.0), files)
        return True
    return False


def cancel(batch: Batch, now: float) -> None:
    """Stop answering lines now; the batch is `cancelling`, then `cancelled`."""
    batch.cancel_at = now
    batch.status = "cancelling"
    batch.times["cancelling"] = int(now)
