"""A streamed response whose end is always accounted for, however it ends.

The body generator's own `finally` is not enough: a client gone before the first byte can
cancel the response before the generator ever starts, and then its `finally` never runs (the
upstream response would stay open, the stream uncounted). The response itself runs the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class Ending:
    """Runs `fn(completed)` once: from the body when it finished, else from the response."""

    def __init__(self, fn: Callable[[bool], Awaitable[None]]) -> None:
        self._fn = fn
        self._done = False

    async def __call__(self, completed: bool) -> None:
        if self._done:
            return
        self._done = True
        with anyio.CancelScope(shield=True):  # runs to the end even for a cancelled request
            await self._fn(completed)


class ProxyStream(StreamingResponse):
    def __init__(
        self,
        content: AsyncIterator[bytes],
        ending: Ending,
        status_code: int,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(content, status_code=status_code, headers=headers)
        self._ending = ending

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._ending(False)
