"""Bearer-token check for /v1/*, with upstream's header names."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request

from adapters.http.errors import HttpError


def require_token(expected: str | None) -> Callable[[Request], Awaitable[None]]:
    """A dependency that accepts `Authorization: Bearer T` or `X-Headroom-Proxy-Token: T`."""

    async def check(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("x-headroom-proxy-token")
        authorization = request.headers.get("authorization", "")
        if given is None and authorization[:7].lower() == "bearer ":
            given = authorization[7:].strip()
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise HttpError(401, "missing or invalid token")

    return check
