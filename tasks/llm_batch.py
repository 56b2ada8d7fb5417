"""Chat completions through the Batch API: JSONL input files, batches, a patient wait, results.

Requests go into JSONL files of at most `max_requests` lines and `max_bytes` bytes each (one
batch per file), with their index as `custom_id`. Waiting polls each batch with a growing pause
(`poll_first_seconds`, doubling up to `poll_max_seconds`) and, between polls, asks `ended` —
whether a provider webhook said the batch ended (a cheap read of the state store) — every
`signal_seconds`: a webhook cuts the wait short, a lost one only makes it longer. Results come
back as `CallResult`s in request order, exactly as the online path returns them, so scoring is
the same; a line in the error file (or missing from both files) is an errored item. Each batch
carries the sha256 of its input file in its metadata: a re-run after a crash finds the batch
still running on the same requests and waits for it instead of paying again.

A caller that may suspend (`find`, `suspend_after`): a batch recorded for the same input file
(`find(sha256)`, any status) is taken instead of a new one, and the wait gives up after
`suspend_after` seconds with `BatchesPending` naming the batches still running.
"""

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import openai
from pydantic import BaseModel, Field

from state.errors import BatchesPending, InputError, ProviderError
from state.spec import EvalSettings
from tasks.llm import BatchResult, CallResult, ChatRequest, ResponseCache, chat_params
from tasks.provider_signal import Ended, nap

ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
RUNNING = frozenset({"validating", "in_progress", "finalizing"})
#: Batch metadata key holding the sha256 of its input file.
INPUT_KEY = "phasegate_input_sha256"


Find = Callable[[str], str | None]


class BatchOptions(BaseModel):
    """Limits of one input file and the rhythm of the wait."""

    @classmethod
    def of(cls, settings: EvalSettings) -> "BatchOptions":
        """The options a spec's `eval` section sets."""
        return cls(
            max_requests=settings.batch_max_requests,
            max_bytes=settings.batch_max_bytes,
            poll_first_seconds=min(2.0, settings.poll_max_seconds),
            poll_max_seconds=settings.poll_max_seconds,
            suspend_after_seconds=settings.suspend_after_seconds,
        )

    max_requests: int = Field(50_000, ge=1)
    max_bytes: int = Field(200 * 1024 * 1024, ge=1)
    poll_first_seconds: float = Field(2.0, gt=0)
    poll_max_seconds: float = Field(60.0, gt=0)
    signal_seconds: float = Field(0.5, gt=0)
    max_wait_seconds: float = Field(25 * 3600, gt=0, description="past the 24 h window")
    suspend_after_seconds: float = Field(
        60.0, ge=0, description="in-process part of a wait that may suspend"
    )


def input_lines(requests: Sequence[ChatRequest]) -> list[bytes]:
    """One JSONL line per request; its `custom_id` is its index."""
    return [
        json.dumps(
            {"custom_id": str(i), "method": "POST", "url": ENDPOINT, "body": chat_params(r)},
            ensure_ascii=False,
        ).encode()
        + b"\n"
        for i, r in enumerate(requests)
    ]


def split(lines: Sequence[bytes], max_requests: int, max_bytes: int) -> list[list[int]]:
    """Line indices grouped into files within both limits, in order."""
    files: list[list[int]] = [[]]
    size = 0
    for index, line in enumerate(lines):
        if len(line) > max_bytes:
            raise InputError(f"request {index}: {len(line)} bytes, over the {max_bytes} per file")
        if len(files[-1]) >= max_requests or size + len(line) > max_bytes:
            files.append([])
            size = 0
        files[-1].append(index)
        size += len(line)
    return [f for f in files if f]


async def _wait(
    client: openai.AsyncOpenAI,
    batch: Any,
    options: BatchOptions,
    ended: Ended | None,
    give_up: float | None = None,
) -> Any:
    """The batch once it has ended: polls with a growing pause, cut short by `ended`.

    With `give_up` (seconds), the batch as it is then, running or not.
    """
    pause, started = options.poll_first_seconds, time.monotonic()
    while batch.status not in TERMINAL:
        waited = time.monotonic() - started
        if give_up is not None and waited >= give_up:
            return batch
        if waited > options.max_wait_seconds:
            raise ProviderError(f"batch {batch.id} still {batch.status} after the wait limit")
        if await nap(pause, ended, batch.id, options.signal_seconds):
            # Trusted once: if the provider still says running, go back to polling alone.
            ended = None
        batch = await client.batches.retrieve(batch.id)
        pause = min(pause * 2, options.poll_max_seconds)
    return batch


async def batch_statuses(client: openai.AsyncOpenAI, batch_ids: Sequence[str]) -> dict[str, str]:
    """Each batch's status now; `unknown` for one the provider no longer knows."""

    async def status(batch_id: str) -> str:
        """One batch's status."""
        try:
            return (await client.batches.retrieve(batch_id)).status
        except openai.NotFoundError:
            return "unknown"

    return dict(zip(batch_ids, await asyncio.gather(*map(status, batch_ids)), strict=True))


def _result(row: dict[str, Any]) -> CallResult:
    """A call result from one line of an output or error file."""
    response, error = row.get("response") or {}, row.get("error")
    body = response.get("body") or {}
    if error:
        return CallResult(error=f"batch: {error.get('code')}: {error.get('message')}")
    if response.get("status_code") != 200:
        message = (body.get("error") or {}).get("message", "no message")
        return CallResult(error=f"HTTP {response.get('status_code')}: {message}")
    try:
        usage = body.get("usage") or {}
        return CallResult(
            text=body["choices"][0]["message"]["content"] or "",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
        )
    except (KeyError, IndexError, TypeError) as exc:
        return CallResult(error=f"no choices[0].message in the batch output ({exc})")


async def _rows(client: openai.AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
    """The JSON lines of an output or error file (none without one)."""
    if file_id is None:
        return []
    content = await client.files.content(file_id)
    return [json.loads(line) for line in content.text.splitlines() if line.strip()]


async def _running(client: openai.AsyncOpenAI, digest: str) -> Any:
    """A batch still running on the same input file (a run that crashed while waiting), or None.

    Looks at the provider's 100 newest batches: a re-run continues the wait instead of paying
    for the same requests again.
    """
    page = await client.batches.list(limit=100)
    for batch in page.data:
        if (batch.metadata or {}).get(INPUT_KEY) == digest and batch.status in RUNNING:
            return batch
    return None


async def _existing(client: openai.AsyncOpenAI, digest: str, find: Find | None) -> Any:
    """The batch recorded for this input file (`find`), else one still running on it, or None."""
    if find is not None and (batch_id := await asyncio.to_thread(find, digest)):
        return await client.batches.retrieve(batch_id)
    return await _running(client, digest)


async def _one_file(
    client: openai.AsyncOpenAI,
    data: bytes,
    indices: list[int],
    options: BatchOptions,
    ended: Ended | None,
    find: Find | None = None,
    give_up: float | None = None,
) -> tuple[str, str, dict[int, CallResult] | None]:
    """Upload one file, run its batch to the end: its id, input sha256 and results by index.

    With `give_up`, a batch still running after that many seconds has no results (None).
    """
    started = time.monotonic()
    digest = hashlib.sha256(data).hexdigest()
    batch = await _existing(client, digest, find)
    if batch is None:
        uploaded = await client.files.create(file=("eval.jsonl", data), purpose="batch")
        batch = await client.batches.create(
            input_file_id=uploaded.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={INPUT_KEY: digest},
        )
    batch = await _wait(client, batch, options, ended, give_up)
    if batch.status not in TERMINAL:
        return batch.id, digest, None
    results: dict[int, CallResult] = {}
    for row in [
        *await _rows(client, batch.output_file_id),
        *await _rows(client, batch.error_file_id),
    ]:
        results[int(row["custom_id"])] = _result(row)
    why = f"batch {batch.id} {batch.status}"
    if batch.status == "failed" and batch.errors and batch.errors.data:
        first = batch.errors.data[0]
        why += f": {first.code} at line {first.line}: {first.message}"
    wait_ms = (time.monotonic() - started) * 1000
    for index in indices:
        results.setdefault(index, CallResult(error=f"{why}; no result for this request"))
        results[index].latency_ms, results[index].sent = wait_ms, True
    return batch.id, digest, results


async def complete_in_batches(
    client: openai.AsyncOpenAI,
    requests: list[ChatRequest],
    options: BatchOptions,
    *,
    cache: ResponseCache | None = None,
    ended: Ended | None = None,
    on_done: Callable[[int], None] | None = None,
    find: Find | None = None,
    suspend_after: float | None = None,
) -> tuple[BatchResult, list[str]]:
    """Run the requests not in the cache as batches; results in request order, batch ids.

    A result's latency is the whole wait of its batch (upload to download). `find` and
    `suspend_after`: see the module's docstring (BatchesPending).
    """
    keys = [r.cache_key() for r in requests] if cache else []
    found = cache.get_many(keys) if cache else {}
    results: list[CallResult | None] = [found.get(k) for k in keys] or [None] * len(requests)
    todo = [i for i, r in enumerate(results) if r is None]
    lines = input_lines([requests[i] for i in todo])
    files = split(lines, options.max_requests, options.max_bytes)
    try:
        runs = await asyncio.gather(
            *(
                _one_file(
                    client, b"".join(lines[j] for j in f), f, options, ended, find, suspend_after
                )
                for f in files
            )
        )
    except openai.OpenAIError as exc:
        raise ProviderError(f"Batch API at {client.base_url}: {exc}") from exc
    if pending := [(batch_id, digest) for batch_id, digest, got in runs if got is None]:
        raise BatchesPending(pending)
    for _, _, by_line in runs:
        for line, result in by_line.items():
            results[todo[line]] = result
    done = [r for r in results if r is not None]
    if cache:
        cache.put_many({keys[i]: results[i] for i in todo if not results[i].error})
    for index in range(len(requests)) if on_done else ():
        on_done(index)
    sent = sum(r.sent for r in done)
    return BatchResult(results=done, provider_calls=sent), [batch_id for batch_id, *_ in runs]
