"""Pure ASGI middleware: body size limit and the in-flight gauge.

Written against ASGI directly (as Starlette's own middleware are) so a too-large body is
refused while streaming, before it is buffered, and nothing depends on the framework.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Gauge

from adapters.http.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TrackedSend:
    """Wraps `send` and remembers whether the response has started: once it has, an error
    can no longer be answered, only the connection ended."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class _TooLarge(Exception):
    pass


async def send_json_error(send: Send, status: int, message: str) -> None:
    """The documented error body, sent from ASGI middleware (outside the app's handlers).
    These errors leave the request unread, so the connection ends: the client is told."""
    body = error_body(status, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """413 for bodies over `max_bytes`, judged by Content-Length and by bytes received."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, on_refuse: Callable[[int], None] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_refuse = on_refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        received = 0
        tracking_send = TrackedSend(send)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not tracking_send.started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        if self.on_refuse is not None:
            self.on_refuse(413)
        await send_json_error(
            send, 413,
            f"Request body exceeds the limit of {self.max_bytes} bytes "
            "(HEADROOM_MAX_BODY_BYTES); send it uncompressed or split it.",
        )  # fmt: skip


class InFlight:
    """Counts compress requests being handled, for autoscaling on load."""

    def __init__(self, app: ASGIApp, gauge: Gauge, path_prefix: str = "/v1/compress") -> None:
        self.app = app
        self.gauge = gauge
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path_prefix):
            await self.app(scope, receive, send)
            return
        self.gauge.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gauge.dec()
