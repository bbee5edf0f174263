"""The proxy's own errors, in the shape of the provider the client thinks it is talking to."""

from __future__ import annotations

import json

from fastapi.responses import JSONResponse

from adapters.proxy.sse import encode


def unreachable(provider: str, reason: str) -> JSONResponse:
    """502 when the provider cannot be reached; SDKs parse it as they parse the provider's."""
    message = f"headroom-gateway could not reach the {provider} API ({reason})"
    if provider == "anthropic":
        body = {"type": "error", "error": {"type": "api_error", "message": message}}
    else:
        body = {
            "error": {
                "message": message,
                "type": "server_error",
                "param": None,
                "code": "upstream_unreachable",
            }
        }
    return JSONResponse(body, status_code=502)


def stream_error(route: str, raw: bytes | None, reason: str) -> bytes:
    """A provider error met in the middle of a stream (a retrieve continuation that failed),
    as that API streams errors: the provider's own error body when there is one, so the SDK
    raises what it would have raised had the provider failed the first request."""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    message = f"headroom-gateway: the provider failed a retrieve continuation ({reason})"
    if route in ("messages", "count_tokens"):
        if not (isinstance(body, dict) and body.get("type") == "error"):
            body = {"type": "error", "error": {"type": "api_error", "message": message}}
        return encode(body, "error")
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {
            "message": message,
            "type": "server_error",
            "param": None,
            "code": "upstream_unreachable",
        }
    if route == "responses":
        return encode(
            {
                "type": "error",
                "code": error.get("code") or error.get("type"),
                "message": error.get("message", message),
                "param": None,
            },
            "error",
        )
    return encode({"error": error})
