"""Request bodies sent with `Content-Encoding: gzip` (or deflate), inflated before the app.

Some HTTP clients compress large JSON bodies; without this they got "Invalid JSON". The
inflated size is capped like any body (a small gzip bomb must not become gigabytes), and a
body that is not what its encoding says is a 400, not a parse error further in.
"""

from __future__ import annotations

import zlib
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

_WBITS = {b"gzip": 31, b"x-gzip": 31, b"deflate": 15}


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class InflateBody:
    """Inflates gzip/deflate request bodies up to `max_bytes`; 413 beyond, 400 if corrupt,
    415 for an encoding it does not know."""

    def __init__(self, app: ASGIApp, max_bytes: int, count: Callable[[int], None]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        encoding = _header(scope, b"content-encoding")
        if scope["type"] != "http" or encoding in (None, b"identity"):
            await self.app(scope, receive, send)
            return
        if encoding not in _WBITS:
            self.count(415)
            await send_json_error(send, 415, "Content-Encoding must be gzip, deflate or identity.")
            return
        inflater = zlib.decompressobj(_WBITS[encoding])
        inflated = 0
        tracking_send = TrackedSend(send)

        async def inflating_receive() -> Message:
            nonlocal inflated
            message = await receive()
            if message["type"] != "http.request":
                return message
            try:
                chunk = inflater.decompress(message.get("body", b""), self.max_bytes + 1 - inflated)
                if not message.get("more_body"):
                    chunk += inflater.flush()
                    if not inflater.eof:
                        raise zlib.error("truncated")
            except zlib.error:
                raise _Refused(
                    400, f"Request body is not valid {encoding.decode()} data."
                ) from None
            inflated += len(chunk)
            if inflated > self.max_bytes or inflater.unconsumed_tail:
                raise _Refused(413, f"Inflated request body exceeds {self.max_bytes} bytes "
                                    "(HEADROOM_MAX_BODY_BYTES).")  # fmt: skip
            return {**message, "body": chunk}

        headers = [(k, v) for k, v in scope["headers"]
                   if k not in (b"content-encoding", b"content-length")]  # fmt: skip
        try:
            await self.app({**scope, "headers": headers}, inflating_receive, tracking_send)
        except _Refused as refused:
            if not tracking_send.started:
                self.count(refused.status)
                await send_json_error(send, refused.status, refused.message)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).strip().lower()
    return None
