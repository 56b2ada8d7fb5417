"""Batches: lifecycle, answers from the chat mechanics, per-line errors, expiry, cancel."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest
from openai.types import Batch

from tests.sandbox.helpers import admin, ask, client_for

TERMINAL = ("completed", "failed", "expired", "cancelled")
ORDER = ["validating", "in_progress", "finalizing", "completed"]
CONTEXT = "Context:\n[doc] Refunds take 5 days. Shipping is free over 50 dollars.\n\n"
QUESTIONS = ["How long do refunds take?", "When is shipping free?", "What is the capital?"]


def line(custom_id: str, question: str, model: str = "sandbox-base") -> dict[str, Any]:
    """One batch input line asking `question` over the context."""
    messages = [{"role": "user", "content": f"{CONTEXT}Question: {question}"}]
    body = {"model": model, "messages": messages, "temperature": 0}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def jsonl(rows: list[Any]) -> bytes:
    """Rows as JSONL bytes (strings are written as they are)."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def start(client: openai.OpenAI, data: bytes) -> Batch:
    """Upload `data` and create a batch over it."""
    uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )


def wait(client: openai.OpenAI, batch_id: str, seen: list[str] | None = None) -> Batch:
    """Poll until the batch ends, noting each status seen."""
    deadline = time.monotonic() + 20
    while True:
        batch = client.batches.retrieve(batch_id)
        if seen is not None and (not seen or seen[-1] != batch.status):
            seen.append(batch.status)
        if batch.status in TERMINAL:
            return batch
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        time.sleep(0.02)


def rows_of(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    """The JSON lines of a file (none without a file)."""
    if file_id is None:
        return []
    return [json.loads(x) for x in client.files.content(file_id).text.splitlines()]


def test_batch_answers_like_chat_without_chat_calls(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    seen: list[str] = []
    rows = [line(f"q{i}", q) for i, q in enumerate(QUESTIONS)]
    batch = wait(client, start(client, jsonl(rows)).id, seen)
    assert batch.status == "completed" and batch.error_file_id is None
    assert (batch.request_counts.total, batch.request_counts.completed) == (3, 3)
    assert seen == [s for s in ORDER if s in seen]  # statuses only move forward
    answers = {
        r["custom_id"]: r["response"]["body"]["choices"][0]["message"]["content"]
        for r in rows_of(client, batch.output_file_id)
    }
    stats = admin(sandbox_url, "GET", "/sandbox/stats").json()
    assert (stats["chat_completions"], stats["batch_requests_ok"]) == (0, 3)
    direct = {f"q{i}": ask(client, r["body"]["messages"][0]["content"]) for i, r in enumerate(rows)}
    assert answers == direct


def test_batch_progress_advances_with_time(sandbox_url: str) -> None:
    admin(sandbox_url, "POST", "/sandbox/faults", {"batch_seconds": 1.5})
    client = client_for(sandbox_url)
    batch = start(client, jsonl([line(f"q{i}", QUESTIONS[i % 3]) for i in range(40)]))
    counts = []
    while (batch := client.batches.retrieve(batch.id)).status not in TERMINAL:
        counts.append(batch.request_counts.completed if batch.request_counts else 0)
        time.sleep(0.05)
    assert counts == sorted(counts) and any(0 < c < 40 for c in counts)
    assert batch.status == "completed" and batch.completed_at is not None


def test_batch_line_errors_go_to_the_error_file(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    rows = [line("ok", QUESTIONS[0]), line("bad", QUESTIONS[1], model="no-such-model")]
    batch = wait(client, start(client, jsonl(rows)).id)
    assert batch.status == "completed"
    assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 1)
    (error,) = rows_of(client, batch.error_file_id)
    assert error["custom_id"] == "bad" and error["response"]["status_code"] == 404
    assert error["response"]["body"]["error"]["code"] == "model_not_found"
    assert [r["custom_id"] for r in rows_of(client, batch.output_file_id)] == ["ok"]


def test_batch_with_bad_input_file_fails_naming_lines(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    data = jsonl([line("a", QUESTIONS[0]), "{not json", line("a", QUESTIONS[1])])
    batch = wait(client, start(client, data).id)
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.errors is not None and batch.output_file_id is None
    assert [(e.code, e.line) for e in batch.errors.data or []] == [
        ("invalid_json_line", 2),
        ("duplicate_custom_id", 3),
    ]


def test_batch_over_the_request_limit_fails(sandbox_url: str) -> None:
    admin(sandbox_url, "POST", "/sandbox/faults", {"batch_max_requests": 2})
    client = client_for(sandbox_url)
    batch = wait(
        client, start(client, jsonl([line(f"q{i}", q) for i, q in enumerate(QUESTIONS)])).id
    )
    assert batch.status == "failed"
    assert [e.code for e in batch.errors.data or []] == ["too_many_requests"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input_file_id": "file-nope"}, "input_file_id"),
        ({"endpoint": "/v1/embeddings"}, "endpoint"),
        ({"completion_window": "1h"}, "completion_window"),
    ],
)
def test_batch_create_refuses_bad_requests(sandbox_url: str, body: dict, param: str) -> None:
    client = client_for(sandbox_url)
    uploaded = client.files.create(file=("in.jsonl", jsonl([line("a", "q")])), purpose="batch")
    params = {
        "input_file_id": uploaded.id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        **body,
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.batches.create(**params)
    assert caught.value.body["param"] == param


def test_batch_refuses_a_file_of_another_purpose(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    uploaded = client.files.create(file=("in.jsonl", jsonl([line("a", "q")])), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="not 'batch'"):
        client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )


def test_batch_expires_with_its_completed_part(sandbox_url: str) -> None:
    admin(sandbox_url, "POST", "/sandbox/faults", {"batch_seconds": 2, "batch_expire_seconds": 1})
    client = client_for(sandbox_url)
    batch = wait(
        client, start(client, jsonl([line(f"q{i}", QUESTIONS[i % 3]) for i in range(20)])).id
    )
    assert batch.status == "expired" and batch.expired_at is not None
    done, errors = rows_of(client, batch.output_file_id), rows_of(client, batch.error_file_id)
    assert 0 < len(done) < 20 and len(done) + len(errors) == 20
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}
    assert batch.request_counts.completed == len(done)


def test_batch_cancel_stops_it_and_cannot_repeat(sandbox_url: str) -> None:
    admin(sandbox_url, "POST", "/sandbox/faults", {"batch_seconds": 5})
    client = client_for(sandbox_url)
    batch = start(client, jsonl([line(f"q{i}", q) for i, q in enumerate(QUESTIONS)]))
    assert client.batches.cancel(batch.id).status == "cancelling"
    with pytest.raises(openai.BadRequestError, match="cancelling"):
        client.batches.cancel(batch.id)
    ended = wait(client, batch.id)
    assert ended.status == "cancelled" and ended.cancelled_at is not None
    assert {e["error"]["code"] for e in rows_of(client, ended.error_file_id)} == {"batch_cancelled"}


def test_batches_list_newest_first_and_unknown_is_404(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    first = start(client, jsonl([line("a", "q")]))
    second = start(client, jsonl([line("a", "q")]))
    ids = [b.id for b in client.batches.list()]
    assert ids.index(second.id) < ids.index(first.id)
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")
