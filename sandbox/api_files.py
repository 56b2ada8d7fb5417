"""OpenAI routes for files (multipart upload, list, retrieve, content, delete)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from sandbox.errors import bad_request
from sandbox.wire import limit_of, multipart, page, state_of

router = APIRouter(prefix="/v1")
PURPOSES = ("fine-tune", "assistants", "batch", "vision", "user_data", "evals")


@router.post("/files")
async def create_file(request: Request) -> JSONResponse:
    """Upload a file (multipart ``file`` + ``purpose``)."""
    state = state_of(request)
    state.stats["files_create"] += 1
    fields, files = multipart(request.headers.get("content-type", ""), await request.body())
    purpose = fields.get("purpose")
    if purpose not in PURPOSES:
        raise bad_request(
            f"Invalid purpose {purpose!r}; use one of {', '.join(PURPOSES)}.", "purpose"
        )
    if "file" not in files:
        raise bad_request("Missing multipart field 'file'.", "file")
    filename, data = files["file"]
    return JSONResponse(state.files.add(filename, purpose, data).to_json())


@router.get("/files")
async def list_files(request: Request) -> JSONResponse:
    """List files, newest first unless ``order=asc``; optional ``purpose`` filter."""
    state = state_of(request)
    state.stats["files_list"] += 1
    purpose = request.query_params.get("purpose")
    items = [f.to_json() for f in state.files.files.values() if purpose in (None, f.purpose)]
    if request.query_params.get("order", "desc") == "desc":
        items.reverse()
    return JSONResponse(page(items, request.query_params.get("after"), limit_of(request, 10000)))


@router.get("/files/{file_id}")
async def retrieve_file(file_id: str, request: Request) -> JSONResponse:
    """Metadata of one file."""
    state = state_of(request)
    state.stats["files_retrieve"] += 1
    return JSONResponse(state.files.get(file_id).to_json())


@router.delete("/files/{file_id}")
async def delete_file(file_id: str, request: Request) -> JSONResponse:
    """Delete one file."""
    state = state_of(request)
    state.stats["files_delete"] += 1
    state.files.get(file_id)
    del state.files.files[file_id]
    return JSONResponse({"id": file_id, "object": "file", "deleted": True})


@router.get("/files/{file_id}/content")
async def file_content(file_id: str, request: Request) -> Response:
    """Raw bytes of one file."""
    state = state_of(request)
    state.stats["files_content"] += 1
    return Response(state.files.get(file_id).data, media_type="application/octet-stream")
