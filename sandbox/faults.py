"""Fault injection for chat and embeddings: latency, jitter, 429, 500, hangs, bad JSON."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from sandbox.config import SandboxConfig
from sandbox.errors import bad_request, error_body

HEADER_LATENCY = "x-sandbox-latency-ms"
HEADER_429 = "x-sandbox-fault-429"
HEADER_500 = "x-sandbox-fault-500"
HEADER_HANG = "x-sandbox-hang"
HEADER_HANG_SECONDS = "x-sandbox-hang-seconds"
HEADER_MALFORMED = "x-sandbox-malformed"
MALFORMED_BODY = b'{"id": "chatcmpl-sandbox", "object": "chat.completion", "choices": [{"ind'


@dataclass(frozen=True)
class FaultPlan:
    """What to do with one request before answering it."""

    delay: float = 0.0
    hang: float = 0.0
    status: int | None = None
    malformed: bool = False


def _number(headers: Mapping[str, str], name: str, default: float, share: bool) -> float:
    """Read a numeric override header (shares must lie in 0..1)."""
    raw = headers.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"Header {name} must be a number, got {raw!r}") from None
    if value < 0 or (share and value > 1):
        raise bad_request(f"Header {name} must be between 0 and {'1' if share else 'inf'}")
    return value


def plan(config: SandboxConfig, headers: Mapping[str, str], counter: int) -> FaultPlan:
    """Decide latency and faults of request number ``counter`` (seeded, reproducible)."""
    latency = _number(headers, HEADER_LATENCY, config.latency_ms, share=False)
    p429 = _number(headers, HEADER_429, config.fault_429, share=True)
    p500 = _number(headers, HEADER_500, config.fault_500, share=True)
    p_hang = _number(headers, HEADER_HANG, config.hang_share, share=True)
    p_bad = _number(headers, HEADER_MALFORMED, config.malformed_share, share=True)
    if not (config.jitter_ms or p429 or p500 or p_hang or p_bad):
        return FaultPlan(delay=latency / 1000)
    rng = random.Random(config.seed * 1_000_003 + counter)
    delay = (latency + rng.uniform(0, config.jitter_ms)) / 1000
    roll = rng.random()
    status = 429 if roll < p429 else 500 if roll < p429 + p500 else None
    malformed = status is None and rng.random() < p_bad
    hang_seconds = _number(headers, HEADER_HANG_SECONDS, config.hang_seconds, share=False)
    hang = hang_seconds if rng.random() < p_hang else 0.0
    return FaultPlan(delay=delay, hang=hang, status=status, malformed=malformed)


def fault_response(fault: FaultPlan, config: SandboxConfig) -> Response | None:
    """The injected error response of a plan, or None when the request should succeed."""
    if fault.status == 429:
        wait = config.retry_after_seconds
        body = error_body(
            "Rate limit reached for requests (injected by the sandbox).",
            "requests",
            None,
            "rate_limit_exceeded",
        )
        headers = {"Retry-After": f"{wait:g}", "retry-after-ms": str(round(wait * 1000))}
        return JSONResponse(body, status_code=429, headers=headers)
    if fault.status == 500:
        body = error_body(
            "The server had an error while processing your request (injected by the sandbox).",
            "server_error",
            None,
            "internal_error",
        )
        return JSONResponse(body, status_code=500)
    if fault.malformed:
        return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
    return None
