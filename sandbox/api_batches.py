"""OpenAI routes for batches: create, retrieve, cancel and list (see `batches` for progress)."""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from sandbox.batches import Batch, cancel
from sandbox.errors import bad_request, not_found
from sandbox.wire import json_body, limit_of, page, state_of

router = APIRouter(prefix="/v1")
ENDPOINTS = ("/v1/chat/completions",)
WINDOWS = ("24h",)


@router.post("/batches")
async def create_batch(request: Request) -> JSONResponse:
    """Create a batch over an uploaded file of purpose `batch`."""
    state = state_of(request)
    state.stats["batches_create"] += 1
    body = await json_body(request)
    file_id = body.get("input_file_id")
    stored = state.files.files.get(file_id) if isinstance(file_id, str) else None
    if stored is None:
        raise bad_request(f"invalid input_file_id: {file_id}", "input_file_id", "invalid_file")
    if stored.purpose != "batch":
        raise bad_request(
            f"File {file_id} has purpose {stored.purpose!r}, not 'batch'.",
            "input_file_id",
            "invalid_file",
        )
    if body.get("endpoint") not in ENDPOINTS:
        raise bad_request(f"endpoint must be one of {', '.join(ENDPOINTS)}.", "endpoint")
    if body.get("completion_window") not in WINDOWS:
        raise bad_request("completion_window must be '24h'.", "completion_window")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_request("metadata must be an object of strings.", "metadata")
    batch = Batch(
        id=f"batch_{secrets.token_hex(12)}",
        created=time.time(),
        duration=state.config.batch_seconds,
        expires_after=state.config.batch_expire_seconds,
        input_file_id=file_id,
        endpoint=body["endpoint"],
        completion_window=body["completion_window"],
        metadata=metadata,
    )
    state.batches[batch.id] = batch
    state.watch(batch.next_change, lambda: state.refresh_batch(batch))
    return JSONResponse(batch.to_json())


def _batch(request: Request, batch_id: str, stat: str) -> Batch:
    """Count the call, find and refresh a batch (404 if unknown)."""
    state = state_of(request)
    state.stats[stat] += 1
    if batch_id not in state.batches:
        raise not_found("batch", batch_id, code="batch_not_found")
    return state.refresh_batch(state.batches[batch_id])


@router.get("/batches")
async def list_batches(request: Request) -> JSONResponse:
    """List batches, newest first."""
    state = state_of(request)
    state.stats["batches_list"] += 1
    items = [state.refresh_batch(b).to_json() for b in reversed(state.batches.values())]
    return JSONResponse(page(items, request.query_params.get("after"), limit_of(request, 20)))


@router.get("/batches/{batch_id}")
async def retrieve_batch(batch_id: str, request: Request) -> JSONResponse:
    """One batch, with its status computed for now."""
    return JSONResponse(_batch(request, batch_id, "batches_retrieve").to_json())


@router.post("/batches/{batch_id}/cancel")
async def cancel_batch(batch_id: str, request: Request) -> JSONResponse:
    """Cancel a batch that has not finished (400 for a finished or cancelling one)."""
    batch = _batch(request, batch_id, "batches_cancel")
    if batch.terminal or batch.status == "cancelling":
        raise bad_request(
            f"Batch {batch_id} is already {batch.status} and cannot be cancelled.",
            "batch_id",
            "batch_not_cancellable",
        )
    cancel(batch, time.time())
    state = state_of(request)
    state.watch(batch.next_change, lambda: state.refresh_batch(batch))
    return JSONResponse(batch.to_json())
