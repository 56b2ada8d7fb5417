"""OpenAI routes for models, chat completions and embeddings."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from sandbox import faults
from sandbox.errors import bad_request, model_not_found
from sandbox.prompt import message_text, parse
from sandbox.reader import answer_tuned, read
from sandbox.state import SandboxState
from sandbox.text import count_tokens, embed, pack_base64, prompt_tokens, truncate_tokens
from sandbox.wire import json_body, state_of

router = APIRouter(prefix="/v1")


@router.get("/models")
async def list_models(request: Request) -> JSONResponse:
    """List base and tuned models."""
    state = state_of(request)
    state.stats["models"] += 1
    return JSONResponse({"object": "list", "data": state.model_list()})


@router.get("/models/{model_id:path}")
async def retrieve_model(model_id: str, request: Request) -> JSONResponse:
    """Retrieve one model (base, tuned or checkpoint)."""
    state = state_of(request)
    state.stats["models"] += 1
    if not state.known_model(model_id):
        raise model_not_found(model_id)
    tuned = state.models.get(model_id)
    created, owner = (tuned.created, tuned.owned_by) if tuned else (1700000000, "sandbox")
    return JSONResponse({"id": model_id, "object": "model", "created": created, "owned_by": owner})


async def _faulted(state: SandboxState, request: Request) -> Response | None:
    """Apply latency and injected faults; returns an error response if one was injected."""
    fault = faults.plan(state.config, request.headers, state.next_counter())
    if fault.delay:
        await asyncio.sleep(fault.delay)
    response = faults.fault_response(fault, state.config)
    if response is not None:
        state.stats["faults_malformed" if fault.malformed else f"faults_{fault.status}"] += 1
        return response
    if fault.hang:
        state.stats["faults_hang"] += 1
        await asyncio.sleep(fault.hang)
    return None


def _check_model(state: SandboxState, body: dict[str, Any]) -> str:
    """The requested model id (400 if missing, 404 if unknown)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("You must provide a model parameter.", param="model")
    if not state.known_model(model):
        raise model_not_found(model)
    return model


def _stop_sequences(body: dict[str, Any]) -> list[str]:
    """The request's `stop`: a string or a list of up to 4 non-empty strings."""
    stop = body.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    valid = isinstance(stops, list) and len(stops) <= 4
    if not valid or not all(isinstance(s, str) and s for s in stops):
        raise bad_request("stop must be a string or up to 4 non-empty strings.", param="stop")
    return stops


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """`text` up to the earliest stop sequence (excluded, as OpenAI does); whether it was cut."""
    ends = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(ends)], True) if ends else (text, False)


def _chat_params(body: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """Validate messages, n, temperature and max_tokens."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list.", param="messages")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise bad_request(f"messages[{i}] must be an object with a role.", param="messages")
    if body.get("n", 1) not in (1, None):
        raise bad_request("The sandbox only supports n=1.", param="n")
    if body.get("stream"):
        raise bad_request("The sandbox does not support streaming.", param="stream")
    temperature = body.get("temperature")
    valid = isinstance(temperature, int | float) and 0 <= temperature <= 2
    if temperature is not None and not valid:
        raise bad_request("temperature must be between 0 and 2.", param="temperature")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise bad_request("max_tokens must be a positive integer.", param="max_tokens")
    return messages, limit


@router.post("/chat/completions")
async def chat_completions(request: Request) -> Response:
    """OpenAI chat completion answered by the reader or a tuned model."""
    state = state_of(request)
    state.stats["chat_completions"] += 1
    state.enter()
    try:
        body = await json_body(request)
        model = _check_model(state, body)
        messages, limit = _chat_params(body)
        stops = _stop_sequences(body)
        injected = await _faulted(state, request)
        if injected is not None:
            return injected
        prompt = parse(messages)
        tuned = state.models.get(model)
        tuned_t, reader_t = state.thresholds()
        if tuned is None:
            answer = read(prompt, model, reader_t)
        else:
            answer = answer_tuned(tuned, prompt, tuned_t, reader_t)
        finish = "stop"
        answer, _ = cut_at_stop(answer, stops)
        if limit is not None:
            answer, cut = truncate_tokens(answer, limit)
            finish = "length" if cut else "stop"
        usage_in = prompt_tokens([message_text(m.get("content")) for m in messages])
        usage_out = count_tokens(answer)
        state.stats["chat_completions_ok"] += 1
        state.stats["prompt_tokens"] += usage_in
        state.stats["completion_tokens"] += usage_out
        return JSONResponse(
            {
                "id": f"chatcmpl-{secrets.token_hex(12)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_sandbox",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer, "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": usage_in,
                    "completion_tokens": usage_out,
                    "total_tokens": usage_in + usage_out,
                },
            }
        )
    finally:
        state.leave()


def _inputs(raw: Any) -> list[str]:
    """Embedding inputs as texts (token-id arrays become space-joined ids)."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
        return [" ".join(map(str, raw))]
    if isinstance(raw, list) and raw and all(isinstance(x, str | list) for x in raw):
        return [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw]
    raise bad_request("'input' must be a string, a list of strings or token arrays.", "input")


@router.post("/embeddings")
async def embeddings(request: Request) -> Response:
    """Feature-hashing embeddings (256 dims unless ``dimensions`` is given)."""
    state = state_of(request)
    state.stats["embeddings"] += 1
    body = await json_body(request)
    model = _check_model(state, body)
    texts = _inputs(body.get("input"))
    dims = body.get("dimensions") or 256
    if not isinstance(dims, int) or not 1 <= dims <= 4096:
        raise bad_request("dimensions must be an integer between 1 and 4096.", "dimensions")
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise bad_request("encoding_format must be 'float' or 'base64'.", "encoding_format")
    injected = await _faulted(state, request)
    if injected is not None:
        return injected
    vectors = [embed(t, dims) for t in texts]
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": pack_base64(v) if fmt == "base64" else list(v),
        }
        for i, v in enumerate(vectors)
    ]
    used = sum(count_tokens(t) for t in texts)
    state.stats["embeddings_ok"] += 1
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": used, "total_tokens": used},
        }
    )
