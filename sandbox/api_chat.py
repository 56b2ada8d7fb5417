"""OpenAI routes for models, chat completions and embeddings."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from sandbox import faults
from sandbox.chat import answer_chat, check_model, validate_chat
from sandbox.errors import bad_request, model_not_found
from sandbox.state import SandboxState
from sandbox.text import count_tokens, embed, pack_base64
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
    return JSONResponse(state.model_object(model_id, created, owner))


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


@router.post("/chat/completions")
async def chat_completions(request: Request) -> Response:
    """OpenAI chat completion answered by the reader or a tuned model."""
    state = state_of(request)
    state.stats["chat_completions"] += 1
    state.enter()
    try:
        call = validate_chat(state, await json_body(request))
        injected = await _faulted(state, request)
        if injected is not None:
            return injected
        completion = answer_chat(state, call)
        state.stats["chat_completions_ok"] += 1
        return JSONResponse(completion)
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
    model = check_model(state, body)
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
