"""FastAPI application factory of the offline OpenAI-compatible sandbox."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from sandbox import api_batches, api_chat, api_files, api_tuning
from sandbox.config import SandboxConfig
from sandbox.errors import APIError, bad_request, error_body, model_not_found
from sandbox.state import SandboxState
from sandbox.wire import json_body, state_of

admin = APIRouter(prefix="/sandbox")


@admin.get("/stats")
async def stats(request: Request) -> JSONResponse:
    """Counters of calls per endpoint, injected faults and tokens since the last reset."""
    state = state_of(request)
    return JSONResponse({**state.stats, "in_flight": state.in_flight})


@admin.post("/reset")
async def reset(request: Request) -> JSONResponse:
    """Zero counters and restore start-up faults; ``{"all": true}`` also drops files/jobs/models."""
    raw = await request.body()
    body = await json_body(request) if raw.strip() else {}
    state = state_of(request)
    state.reset(everything=bool(body.get("all", False)))
    return JSONResponse({"reset": True, "all": bool(body.get("all", False))})


@admin.get("/faults")
async def get_faults(request: Request) -> JSONResponse:
    """The current configuration."""
    return JSONResponse(state_of(request).config.model_dump(mode="json"))


@admin.post("/faults")
async def set_faults(request: Request) -> JSONResponse:
    """Update configuration fields (faults, latency, job timing) at runtime."""
    config = state_of(request).set_faults(await json_body(request))
    return JSONResponse(config.model_dump(mode="json"))


@admin.get("/webhooks")
async def webhooks_sent(request: Request) -> JSONResponse:
    """The last webhooks sent: url, headers, body and the receiver's status (for replays)."""
    return JSONResponse({"data": list(state_of(request).notifier.sent)})


@admin.post("/models/{model_id:path}/degrade")
async def degrade(model_id: str, request: Request) -> JSONResponse:
    """Make a tuned model answer ``share`` of its queries with another pair's answer."""
    state = state_of(request)
    share = (await json_body(request)).get("share")
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
        raise bad_request("share must be a number between 0 and 1.", "share")
    if not state.known_model(model_id):
        raise model_not_found(model_id)
    tuned = state.models.get(model_id)
    if tuned is None:
        raise bad_request(
            f"{model_id} is a base model; only tuned models can be degraded.", "model"
        )
    tuned.degrade = float(share)
    return JSONResponse({"model": model_id, "share": tuned.degrade})


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    """Render :class:`APIError` in OpenAI's shape."""
    assert isinstance(exc, APIError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Render routing errors (404/405) in OpenAI's shape."""
    assert isinstance(exc, StarletteHTTPException)
    message = f"Invalid URL ({request.method} {request.url.path}): {exc.detail}"
    return JSONResponse(error_body(message), status_code=exc.status_code)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Render FastAPI validation errors as 400s."""
    return JSONResponse(error_body(f"Invalid request: {exc}"), status_code=400)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build the sandbox app; its state is available as ``app.state.sandbox``."""
    app = FastAPI(title="Phasegate sandbox", version="1.0", docs_url=None, redoc_url=None)
    app.state.sandbox = SandboxState(config or SandboxConfig())
    app.include_router(api_chat.router)
    app.include_router(api_files.router)
    app.include_router(api_tuning.router)
    app.include_router(api_batches.router)
    app.include_router(admin)
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app
