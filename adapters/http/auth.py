"""Bearer-token check for /v1/*, with upstream's header names."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request

from adapters.http.errors import HttpError
from adapters.identity.resolve import credential


def require_token(expected: str | None) -> Callable[[Request], Awaitable[None]]:
    """A dependency that accepts `Authorization: Bearer T` or `X-Headroom-Proxy-Token: T`."""

    async def check(request: Request) -> None:
        if expected is None:
            return
        given = credential(request.headers)
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise HttpError(401, "missing or invalid token")

    return check
