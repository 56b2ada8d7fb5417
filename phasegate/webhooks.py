"""The signed webhook API: check requests, usage, interactions and the active configuration."""

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from phasegate.active import active_configuration
from phasegate.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Authenticator,
    ReplayCache,
)
from phasegate.usage_writer import UsageWriter
from phasegate.webhook_models import (
    JSON_TYPE,
    CheckAccepted,
    CheckRequest,
    InteractionsRecorded,
    InteractionsRequest,
    UsageRecorded,
    UsageRequest,
    error_body,
    parse_body,
)
from state import store
from state.active import active_parts
from state.db import store_session
from state.errors import ApiError, EmitError, NotFound, SignatureError
from state.inputs import SLUG
from state.interactions import NewInteraction, record_interactions
from state.settings import Settings
from state.usage import UsageCount

Emit = Callable[[str, str, dict], str]

logger = logging.getLogger(__name__)

CHECK_REQUESTED = "phasegate.check.requested"
MAX_BODY_BYTES = 1024 * 1024
NAME = re.compile(SLUG)


def prefect_emitter() -> Emit:
    """An emit that posts events about use cases to the Prefect API and waits for its answer."""
    # Imported here, not with this module: importing prefect takes seconds, and tests pass
    # their own emit. Here, the server pays it at start-up rather than on the first request.
    from prefect.client.orchestration import get_client
    from prefect.events import Event
    from prefect.settings import get_current_settings

    def emit(event: str, use_case: str, payload: dict) -> str:
        """Post one event and return its id; raises when the API does not take it."""
        if not get_current_settings().api.url:
            # Prefect would start a temporary server inside this process: it runs no
            # triggers, so the event would start nothing.
            raise EmitError("PREFECT_API_URL is not set; no Prefect server would see the event")
        sent = Event(
            event=event,
            resource={
                "prefect.resource.id": f"phasegate.usecase.{use_case}",
                "prefect.resource.name": use_case,
            },
            payload=payload,
        )
        # POST and wait rather than emit_event(): that queues the event for a background
        # worker which drops it when the API is unreachable, after we would have answered 202.
        with get_client(sync_client=True) as client:
            client.request("POST", "/events", json=[sent.model_dump(mode="json")])
        return str(sent.id)

    return emit


@dataclass
class _Context:
    store_url: str
    emit: Emit
    auth: Authenticator
    max_body_bytes: int
    store_slots: anyio.CapacityLimiter
    usage: UsageWriter

    async def in_store(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run `work(*args, session=...)` in one unit of work, off the event loop."""

        def run() -> Any:
            with store_session(self.store_url) as session:
                return work(*args, session=session)

        return await anyio.to_thread.run_sync(run, limiter=self.store_slots)


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is over `limit` bytes."""
    too_large = ApiError(413, "body_too_large", f"body: larger than {limit} bytes")
    length = request.headers.get("content-length")
    # h11 has already refused a malformed Content-Length; the stream is bounded as well.
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def _signed(
    request: Request, handle: Callable[[_Context, str, bytes], Awaitable[Response]]
) -> Response:
    """Read, authenticate and check the name of a request, then answer it with `handle`."""
    context: _Context = request.app.state.webhook
    name: str = request.path_params["name"]
    body = await _read_body(request, context.max_body_bytes)
    headers = request.headers
    try:
        key = context.auth.authenticate(
            name,
            request.method,
            request.scope["path"],
            headers.get(TIMESTAMP_HEADER),
            headers.get(SIGNATURE_HEADER),
            body,
        )
    except SignatureError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    try:
        if not NAME.fullmatch(name):
            raise ApiError(404, "unknown_use_case", f"use case names match {SLUG}")
        return await handle(context, name, body)
    except Exception:
        # Failures leave the store unchanged, so the same request may be sent again as it was.
        if key is not None:
            context.auth.replays.release(key)
        raise


def _json(model: BaseModel, status: int = 200) -> Response:
    """A JSON response of a model."""
    return Response(model.model_dump_json(), status_code=status, media_type=JSON_TYPE)


async def request_check(request: Request) -> Response:
    """Request a phase check of a use case: emit a Prefect event."""

    async def handle(context: _Context, name: str, body: bytes) -> Response:
        check = parse_body(CheckRequest, request.headers.get("content-type"), body)
        await context.in_store(store.require_use_case, name)
        payload = {"use_case": name, "reason": check.reason, "requested_by": check.requested_by}
        try:
            event_id = await anyio.to_thread.run_sync(context.emit, CHECK_REQUESTED, name, payload)
        except Exception as exc:  # noqa: BLE001 - any failure to hand over the event is a 503
            raise ApiError(503, "emit_failed", f"event not emitted: {exc}") from exc
        return _json(CheckAccepted(event_id=str(event_id), use_case=name), 202)

    return await _signed(request, handle)


async def report_usage(request: Request) -> Response:
    """Record daily query counts of a use case (idempotent per day and source)."""

    async def handle(context: _Context, name: str, body: bytes) -> Response:
        report = parse_body(UsageRequest, request.headers.get("content-type"), body)
        counts = [UsageCount(name, c.day, c.count, c.source) for c in report.counts]
        recorded = await context.usage.record(counts)
        return _json(UsageRecorded(recorded=recorded))

    return await _signed(request, handle)


async def submit_interactions(request: Request) -> Response:
    """Store production interactions of a use case, de-duplicated by the client's id."""

    async def handle(context: _Context, name: str, body: bytes) -> Response:
        submitted = parse_body(InteractionsRequest, request.headers.get("content-type"), body)
        records = [
            NewInteraction(
                client_id=i.id, input=i.input, output=i.output, label=i.label, rating=i.rating
            )
            for i in submitted.interactions
        ]
        inserted, duplicates = await context.in_store(record_interactions, name, records)
        return _json(InteractionsRecorded(inserted=inserted, duplicates=duplicates))

    return await _signed(request, handle)


async def read_active(request: Request) -> Response:
    """Answer the active configuration of a use case, with an ETag."""

    async def handle(context: _Context, name: str, _body: bytes) -> Response:
        active = active_configuration(await context.in_store(active_parts, name))
        content = json.dumps(
            active.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        ).encode()
        etag = f'"{hashlib.sha256(content).hexdigest()}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(content, media_type=JSON_TYPE, headers=headers)

    return await _signed(request, handle)


async def healthz(_request: Request) -> Response:
    """Answer that the server runs (no authentication, no store access)."""
    return Response('{"status":"ok"}', media_type=JSON_TYPE)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (or `*`)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


async def _answer_error(request: Request, exc: Exception) -> Response:
    """Turn an exception that left a route into the API's JSON error body."""
    if isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        error = ApiError(exc.status_code, code, str(exc.detail))
    elif isinstance(exc, NotFound):
        error = ApiError(404, "unknown_use_case", str(exc))
    else:
        error = ApiError(500, "internal_error", "unexpected error; see the server log")
    if error.status in (401, 503):
        # The access log is off: refused signatures and outages still reach the operator.
        logger.warning(
            "%s %s: %d %s", request.method, request.scope["path"], error.status, error.code
        )
    return _json(error_body(error), error.status)


def create_app(
    settings: Settings,
    *,
    emit: Emit | None = None,
    secrets_by_use_case: Mapping[str, SecretStr] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    replay_cache_size: int = 500_000,
) -> FastAPI:
    """The webhook API on the store of `settings`; `emit` sends check events (default: Prefect)."""
    # SQLite has one writer: queueing store work in-process avoids its sleeping busy-wait.
    store_slots = anyio.CapacityLimiter(1 if settings.store_url.startswith("sqlite") else 16)
    app = FastAPI(title="Phasegate webhooks", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.webhook = _Context(
        store_url=settings.store_url,
        emit=emit or prefect_emitter(),
        auth=Authenticator(
            secret=settings.webhook_secret,
            secrets_by_use_case=dict(secrets_by_use_case or {}),
            replays=ReplayCache(max_entries=replay_cache_size),
        ),
        max_body_bytes=max_body_bytes,
        store_slots=store_slots,
        usage=UsageWriter(settings.store_url, store_slots),
    )
    for error in (ApiError, StarletteHTTPException, NotFound, Exception):
        app.add_exception_handler(error, _answer_error)
    # Plain Starlette routes: the handlers parse their own bodies, and FastAPI's dependency
    # solving would double the framework's time per request.
    prefix = "/v1/usecases/{name}"
    app.add_route(f"{prefix}/checks", request_check, methods=["POST"])
    app.add_route(f"{prefix}/usage", report_usage, methods=["POST"])
    app.add_route(f"{prefix}/interactions", submit_interactions, methods=["POST"])
    app.add_route(f"{prefix}/active", read_active, methods=["GET"])
    app.add_route("/healthz", healthz, methods=["GET"])
    return app
