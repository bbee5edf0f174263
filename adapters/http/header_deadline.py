"""A deadline for request headers, which uvicorn does not keep.

uvicorn times out an idle keep-alive connection, but not one that is open and waiting for
its request's headers: a client that connects and sends nothing, or trickles header bytes
(slowloris), holds a socket forever. This protocol arms a timer while a request's headers are
incomplete; when it fires, a client that sent part of its headers gets a 408 in the gateway's
error shape, and the connection closes. Once the headers are whole, the body has its own
limit (BodyReadTimeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from adapters.http.errors import error_body


def timed_out_response(seconds: float) -> bytes:
    """The raw 408 sent on the connection: no route has seen the request."""
    body = error_body(408, f"Request headers incomplete after {seconds:g} s "
                      "(HEADROOM_HEADER_READ_TIMEOUT_SECONDS).")  # fmt: skip
    head = ("HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


def header_deadline_protocol(
    seconds: float, count: Callable[[int], None] = lambda status: None
) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a `seconds` deadline on each request's headers; `count`
    is told of each 408 sent (the error counter)."""
    response = timed_out_response(seconds)

    class HeaderDeadlineProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()  # a connection that never sends a byte is held no longer

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:  # still inside this request's headers
                self._arm()
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expired(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            if self._bytes_received():
                self.transport.write(response)
                count(408)
            self.transport.close()

        def _bytes_received(self) -> bool:
            """Part of a request arrived (h11 buffers it until the headers are whole)."""
            return bool(self.conn.trailing_data[0])

    return HeaderDeadlineProtocol
