"""One error shape for every non-2xx answer: `{"error": {"type": ..., "message": ...}}`.

Route code raises `HttpError` (or the core's `InvalidRequest`, a 400); the framework's own
404/405 and validation errors are turned into the same body here (anything unexpected by the
LastResort middleware).
Status codes live at this boundary only, never in `core/`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from core.errors import InvalidRequest

#: The `type` each status gets unless the raiser names one.
ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    431: "request_header_fields_too_large",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
}


class HttpError(Exception):
    """An answer other than 2xx, raised from a route or a dependency."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or ERROR_TYPES.get(status, "error")
        self.headers = dict(headers or {})


def error_body(status: int, message: str, kind: str | None = None) -> bytes:
    """The JSON bytes of an error; ASCII-only, so no input can make it unencodable."""
    kind = kind or ERROR_TYPES.get(status, "error")
    return json.dumps({"error": {"type": kind, "message": message}}).encode()


def error_response(error: HttpError) -> Response:
    return Response(error_body(error.status, error.message, error.kind),
                    status_code=error.status, media_type="application/json",
                    headers=error.headers)  # fmt: skip


def install_error_handlers(app: FastAPI, count: Callable[[int], None]) -> None:
    """Route every error through one body; `count(status)` records it in the metrics.
    Anything else a route raises is answered by the LastResort middleware (a JSON 500)."""

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HttpError)
        count(error.status)
        return error_response(error)

    async def invalid(request: Request, error: Exception) -> Response:
        return await http_error(request, HttpError(400, str(error)))

    async def unprocessable(request: Request, error: Exception) -> Response:
        return await http_error(request, HttpError(422, str(error)))

    async def framework(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        headers = dict(error.headers or {})
        return await http_error(request, HttpError(error.status_code, detail, headers=headers))

    app.add_exception_handler(HttpError, http_error)
    app.add_exception_handler(InvalidRequest, invalid)
    app.add_exception_handler(RequestValidationError, unprocessable)
    app.add_exception_handler(HTTPException, framework)
