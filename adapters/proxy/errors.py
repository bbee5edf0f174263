"""The proxy's own errors, in the shape of the provider the client thinks it is talking to."""

from __future__ import annotations

from fastapi.responses import JSONResponse


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


def not_proxied(path: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "type": "not_found",
                "message": f"/v1/{path} is the gateway's own API; "
                "this method is not supported on it",
            }
        },
        status_code=405,
    )
