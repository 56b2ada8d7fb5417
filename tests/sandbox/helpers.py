"""Shared helpers for the sandbox integration tests."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
from openai.types.fine_tuning import FineTuningJob

TERMINAL = ("succeeded", "failed", "cancelled")


def client_for(url: str, **kwargs: Any) -> openai.OpenAI:
    """A real OpenAI SDK client pointed at the sandbox."""
    return openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0, **kwargs)


def root_of(url: str) -> str:
    """Server root (without ``/v1``) for admin calls."""
    return url.removesuffix("/v1")


def admin(url: str, method: str, path: str, payload: Any = None) -> httpx.Response:
    """Call an admin endpoint of the sandbox serving ``url``."""
    return httpx.request(method, root_of(url) + path, json=payload, timeout=10)


def ask(client: openai.OpenAI, content: str, model: str = "sandbox-base", **kwargs: Any) -> str:
    """Send one user message and return the answer text."""
    messages = kwargs.pop("messages", None) or [{"role": "user", "content": content}]
    reply = client.chat.completions.create(model=model, messages=messages, **kwargs)
    return reply.choices[0].message.content or ""


def row(question: str, answer: str, system: str | None = None) -> dict[str, Any]:
    """One chat-format training example."""
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return {"messages": messages}


def upload(client: openai.OpenAI, rows: list[Any], name: str = "train.jsonl") -> str:
    """Upload rows (dicts become JSON lines, strings are written as they are); returns file id."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    data = ("\n".join(lines) + "\n").encode()
    return client.files.create(file=(name, data), purpose="fine-tune").id


def wait_job(client: openai.OpenAI, job_id: str, timeout: float = 10.0) -> FineTuningJob:
    """Poll a job until it reaches a terminal status (bounded by ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


def product_rows(count: int = 20) -> list[dict[str, Any]]:
    """Training rows with distinct questions and answers about numbered gadgets."""
    return [
        row(f"What colour is gadget model g{k}?", f"Gadget g{k} is painted shade {k * 7}.")
        for k in range(count)
    ]


def train(client: openai.OpenAI, rows: list[Any], **kwargs: Any) -> FineTuningJob:
    """Upload rows, run a job to completion and return the finished job."""
    file_id = upload(client, rows)
    job = client.fine_tuning.jobs.create(model="sandbox-base", training_file=file_id, **kwargs)
    return wait_job(client, job.id)
