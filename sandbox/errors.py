"""OpenAI-shaped API errors raised by sandbox handlers."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An error answered as ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        etype: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = etype
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of this error."""
        return error_body(self.message, self.type, self.param, self.code)


def error_body(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Build OpenAI's error envelope."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    """A 400 ``invalid_request_error``."""
    return APIError(400, message, param=param, code=code)


def not_found(kind: str, ident: str, param: str = "id", code: str | None = None) -> APIError:
    """A 404 for an unknown object of type ``kind``."""
    return APIError(404, f"No such {kind}: {ident}", param=param, code=code or f"{kind}_not_found")


def model_not_found(model: str, message: str | None = None) -> APIError:
    """OpenAI's 404 for an unknown (or shut down) model."""
    message = message or f"The model `{model}` does not exist or you do not have access to it."
    return APIError(404, message, param="model", code="model_not_found")
