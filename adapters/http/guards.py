"""Pure ASGI guards around the app: header limits, a body read timeout, a last resort.

Each one answers with the documented JSON error and `Connection: close`, because each ends
the exchange before the request was read to its end (or after the app broke), so the
connection cannot carry another request: the client is told rather than finding out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from adapters.http.middleware import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    TrackedSend,
    send_json_error,
)

log = logging.getLogger(__name__)
Count = Callable[[int], None]


class HeaderLimit:
    """431 when the request's headers exceed `max_bytes` in all or `max_count` fields."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_count: int, count: Count) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers", ())
            size = sum(len(name) + len(value) for name, value in headers)
            if len(headers) > self.max_count or size > self.max_bytes:
                self.count(431)
                await send_json_error(
                    send, 431,
                    f"Request headers exceed {self.max_count} fields or {self.max_bytes} bytes "
                    "(HEADROOM_MAX_HEADERS, HEADROOM_MAX_HEADER_BYTES).",
                )  # fmt: skip
                return
        await self.app(scope, receive, send)


class _Stalled(Exception):
    pass


class BodyReadTimeout:
    """408 when the body stalls: no part of it arrives for `seconds` (a body shorter than its
    Content-Length would otherwise hold the connection and its handler forever)."""

    def __init__(self, app: ASGIApp, seconds: float, count: Count) -> None:
        self.app = app
        self.seconds = seconds
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        tracking_send = TrackedSend(send)

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:  # after the body, receive() waits for a disconnect: no limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                raise _Stalled from None
            body_done = message["type"] != "http.request" or not message.get("more_body")
            return message

        try:
            await self.app(scope, timed_receive, tracking_send)
        except _Stalled:
            if not tracking_send.started:
                self.count(408)
                await send_json_error(
                    send, 408,
                    f"No request body data for {self.seconds:g} s "
                    "(HEADROOM_BODY_READ_TIMEOUT_SECONDS); send the whole body.",
                )  # fmt: skip


class LastResort:
    """Anything the app's handlers let through becomes a counted JSON 500, never a plain-text
    page or a dropped connection."""

    def __init__(self, app: ASGIApp, count: Count) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracking_send = TrackedSend(send)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            log.error("unhandled %s on %s", type(error).__name__, scope.get("path"))
            self.count(500)
            if (
                not tracking_send.started
            ):  # once started, the server ends the broken response itself
                await send_json_error(send, 500, "internal error; the request was not processed")
