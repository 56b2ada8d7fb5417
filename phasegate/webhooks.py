"""The signed webhook API: check requests, usage, interactions and the active configuration."""

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import anyio
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from phasegate.active_cache import ActiveCache
from phasegate.signing import Authenticator, target
from phasegate.usage_writer import UsageWriter, replayed
from phasegate.webhook_emit import CHECK_REQUESTED, Emit, prefect_emitter
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
from phasegate.webhook_provider import ProviderIntake
from state.domain import Delivery, NewInteraction, Replays, UsageCount
from state.errors import ApiError, EmitError, InputError, NotFound, SignatureError
from state.inputs import SLUG
from state.settings import Settings
from state.store_api import Store

__all__ = ["CHECK_REQUESTED", "EmitError", "create_app", "prefect_emitter"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
NAME = re.compile(SLUG)
# Requests that change nothing: their id is not reserved, so that readers may poll.
SAFE_METHODS = frozenset({"GET", "HEAD"})
ROUTING_HEADER = "Phasegate-Routing-Key"
MAX_ROUTING_KEY = 200


@dataclass
class _Context:
    store: Store
    emit: Emit
    auth: Authenticator
    replays: Replays
    max_body_bytes: int
    store_slots: anyio.CapacityLimiter
    usage: UsageWriter
    provider: ProviderIntake
    active: ActiveCache

    async def in_store(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run `work(*args)`, a method of the store, off the event loop."""
        return await anyio.to_thread.run_sync(work, *args, limiter=self.store_slots)


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is over `limit` bytes."""
    too_large = ApiError(413, "body_too_large", f"body: larger than {limit} bytes")
    length = request.headers.get("content-length")
    # h11 has already refused a malformed Content-Length; the stream is bounded as well.
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ClientDisconnect as exc:
        # The server's read timeout closed a slow sender, or the client left: nobody to answer.
        raise ApiError(408, "request_timeout", "body: not received in time") from exc
    return bytes(body)


class _Call(NamedTuple):
    """An authenticated request: where it is answered, what it is for, and its body."""

    context: "_Context"
    delivery: Delivery
    target: str
    body: bytes


async def _signed(request: Request, handle: Callable[[_Call], Awaitable[Response]]) -> Response:
    """Read and authenticate a request and check its use-case name, then `handle` it.

    A POST signs its body, which names its target; a GET signs its target (method and path).
    """
    context: _Context = request.app.state.webhook
    name: str = request.path_params["name"]
    safe = request.method in SAFE_METHODS
    # A GET signs its target and has no body to read.
    body = b"" if safe else await _read_body(request, context.max_body_bytes)
    this = target(request.method, request.scope["path"])
    signed = this.encode() if safe else body
    try:
        delivery = context.auth.authenticate(name, request.headers, signed)
    except SignatureError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    if not NAME.fullmatch(name):
        raise ApiError(404, "unknown_use_case", f"use case names match {SLUG}")
    return await handle(_Call(context, delivery, this, body))


def _json(model: BaseModel, status: int = 200) -> Response:
    """A JSON response of a model."""
    return Response(model.model_dump_json(), status_code=status, media_type=JSON_TYPE)


async def request_check(request: Request) -> Response:
    """Request a phase check of a use case: emit a Prefect event."""

    async def handle(call: _Call) -> Response:
        check = parse_body(
            CheckRequest, request.headers.get("content-type"), call.body, target=call.target
        )
        context, delivery = call.context, call.delivery
        if not await context.in_store(
            context.store.reserve_for_use_case, context.replays, delivery
        ):
            raise replayed(delivery)
        payload = {
            "use_case": delivery.use_case,
            "reason": check.reason,
            "requested_by": check.requested_by,
        }
        try:
            event_id = await anyio.to_thread.run_sync(
                context.emit, CHECK_REQUESTED, delivery.use_case, payload
            )
        except Exception as exc:  # noqa: BLE001 - any failure to hand over the event is a 503
            # Released, so the same request may be sent again; the cause goes to the log only.
            await context.in_store(context.store.release_delivery, delivery)
            logger.warning("check event of %s not emitted: %r", delivery.use_case, exc)
            detail = str(exc) if isinstance(exc, EmitError) else "the Prefect API did not take it"
            raise ApiError(503, "emit_failed", f"check event not emitted: {detail}; retry") from exc
        return _json(CheckAccepted(event_id=str(event_id), use_case=delivery.use_case), 202)

    return await _signed(request, handle)


async def report_usage(request: Request) -> Response:
    """Record daily query counts of a use case (idempotent per day and source)."""

    async def handle(call: _Call) -> Response:
        report = parse_body(
            UsageRequest, request.headers.get("content-type"), call.body, target=call.target
        )
        name = call.delivery.use_case
        counts = [UsageCount(name, c.day, c.count, c.source) for c in report.counts]
        recorded = await call.context.usage.record(counts, call.delivery)
        return _json(UsageRecorded(recorded=recorded))

    return await _signed(request, handle)


async def submit_interactions(request: Request) -> Response:
    """Store production interactions of a use case, de-duplicated by the client's id."""

    async def handle(call: _Call) -> Response:
        submitted = parse_body(
            InteractionsRequest, request.headers.get("content-type"), call.body, target=call.target
        )
        records = [
            NewInteraction(client_id=i.id, **i.model_dump(exclude={"id"}))
            for i in submitted.interactions
        ]
        context = call.context
        # The interactions and their delivery in one unit of work: None for a replay.
        try:
            recorded = await context.in_store(
                context.store.record_interactions_once, context.replays, call.delivery, records
            )
        except InputError as exc:
            raise ApiError(422, "unknown_configuration", str(exc)) from exc
        if recorded is None:
            raise replayed(call.delivery)
        inserted, duplicates = recorded
        return _json(InteractionsRecorded(inserted=inserted, duplicates=duplicates))

    return await _signed(request, handle)


def _routing_key(request: Request) -> str | None:
    """The caller's routing key: `?key=` or the `Phasegate-Routing-Key` header (None: random)."""
    key = request.query_params.get("key", request.headers.get(ROUTING_HEADER))
    if key is not None and not 1 <= len(key) <= MAX_ROUTING_KEY:
        raise ApiError(
            422, "invalid_routing_key", f"key: must be 1 to {MAX_ROUTING_KEY} characters"
        )
    return key


async def read_active(request: Request) -> Response:
    """Answer what a routing key is served (a rollout arm, else the active one), with an ETag."""

    async def handle(call: _Call) -> Response:
        key = _routing_key(request)
        active, name = call.context.active, call.delivery.use_case
        # Served from memory while the snapshot is fresh: no thread, no store session.
        snapshot = active.fresh(name) or await call.context.in_store(active.refresh, name)
        body = snapshot.body(key)
        headers = {"ETag": body.etag, "Cache-Control": "no-cache"}
        if _matches(request.headers.get("if-none-match"), body.etag):
            return Response(status_code=304, headers=headers)
        return Response(body.content, media_type=JSON_TYPE, headers=headers)

    return await _signed(request, handle)


async def provider_openai(request: Request) -> Response:
    """Take OpenAI's webhook (batch, fine-tuning): verify, dedupe, emit (webhook_provider)."""
    context: _Context = request.app.state.webhook
    body = await _read_body(request, context.max_body_bytes)
    return _json(await context.provider.take(body, request.headers))


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
    max_body_bytes: int = MAX_BODY_BYTES,
    provider_emit: Emit | None = None,
) -> FastAPI:
    """The webhook API on the store of `settings`; `emit` sends check events (default: Prefect).

    `provider_emit` sends the events of provider webhooks (default: Prefect, `openai.*`).
    """
    # SQLite has one writer: queueing store work in-process avoids its sleeping busy-wait.
    store_slots = anyio.CapacityLimiter(1 if settings.store_url.startswith("sqlite") else 16)
    auth = Authenticator.from_secrets(settings.webhook_secret, settings.webhook_secrets)
    replays = Replays(auth.window)
    app = FastAPI(title="Phasegate webhooks", openapi_url=None, docs_url=None, redoc_url=None)
    store = Store(settings.store_url)
    app.state.webhook = _Context(
        store=store,
        emit=emit or prefect_emitter(),
        auth=auth,
        replays=replays,
        max_body_bytes=max_body_bytes,
        store_slots=store_slots,
        usage=UsageWriter(settings.store_url, store_slots, replays),
        provider=ProviderIntake.of(
            settings.openai_webhook_secret,
            store,
            replays,
            provider_emit or prefect_emitter("openai"),
            store_slots,
        ),
        active=ActiveCache(store, max_age=settings.webhook_active_staleness_ms / 1000),
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
    app.add_route("/v1/provider/openai", provider_openai, methods=["POST"])
    app.add_route("/healthz", healthz, methods=["GET"])
    return app
