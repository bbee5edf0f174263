"""Bearer-token check for /v1/*, with upstream's header names."""

from __future__ import annotations

import hmac

from fastapi import Request

from core.errors import InvalidRequest


def require_token(expected: str | None):  # noqa: ANN201 (FastAPI dependency factory)
    """A dependency that accepts `Authorization: Bearer T` or `X-Headroom-Proxy-Token: T`."""

    async def check(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("x-headroom-proxy-token")
        authorization = request.headers.get("authorization", "")
        if given is None and authorization[:7].lower() == "bearer ":
            given = authorization[7:].strip()
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise InvalidRequest("missing or invalid token", status=401)

    return check


def require_proxy_token(expected: str | None):  # noqa: ANN201 (FastAPI dependency factory)
    """For the transparent proxy: only `X-Headroom-Proxy-Token` is the gateway's token, since
    `Authorization` and `x-api-key` carry the caller's provider credentials upstream."""

    async def check(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("x-headroom-proxy-token")
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise InvalidRequest("missing or invalid X-Headroom-Proxy-Token", status=401)

    return check
