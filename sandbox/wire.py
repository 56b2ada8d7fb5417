"""Request/response plumbing shared by the routers: state access, JSON, paging, multipart."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from typing import Any

from fastapi import Request

from sandbox.errors import bad_request
from sandbox.state import SandboxState


def state_of(request: Request) -> SandboxState:
    """The app's :class:`SandboxState`."""
    return request.app.state.sandbox


async def json_body(request: Request) -> dict[str, Any]:
    """Parse a JSON object body or raise a 400."""
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """A cursor page of ``items`` after the item with id ``after``."""
    ids = [item["id"] for item in items]
    start = ids.index(after) + 1 if after in ids else 0
    chunk = items[start : start + limit]
    return {
        "object": "list",
        "data": chunk,
        "has_more": start + limit < len(items),
        "first_id": chunk[0]["id"] if chunk else None,
        "last_id": chunk[-1]["id"] if chunk else None,
    }


def limit_of(request: Request, default: int) -> int:
    """The ``limit`` query parameter (1..10000)."""
    raw = request.query_params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise bad_request("limit must be an integer between 1 and 10000.", "limit")
    return int(raw)


def multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple]]:
    """Form fields and files ``{name: (filename, bytes)}`` of a multipart body."""
    if not content_type.startswith("multipart/form-data"):
        raise bad_request("Uploads must be sent as multipart/form-data.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[str(name)] = (part.get_filename(), payload)
        else:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields, files
