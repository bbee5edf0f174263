"""One request on a compressed route, through every round of the retrieve loop.

Without the retrieve tool, or on an error status, the answer is passed through. With it, a
stream goes through the route's splicer (which hides headroom_retrieve calls and joins the
rounds into one answer) and a whole answer through its merger; each call is answered from the
original store and the turn continued upstream, at most `proxy_retrieve_rounds` times.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
from fastapi.responses import Response

from adapters.proxy import errors
from adapters.proxy.anthropic_stream import AnthropicSplicer
from adapters.proxy.calls import Call
from adapters.proxy.chat_stream import ChatSplicer
from adapters.proxy.dialect import Dialect
from adapters.proxy.headers import downstream_headers
from adapters.proxy.ledger import CLIENT_GONE, ProxyRecord
from adapters.proxy.merge import AnthropicMerger, ChatMerger
from adapters.proxy.prepare import Prepared, continuation
from adapters.proxy.responses_stream import ResponsesMerger, ResponsesSplicer
from adapters.proxy.sse import EventReader
from adapters.proxy.streaming import Ending, ProxyStream
from adapters.proxy.upstream import UpstreamUnreachable, close, read_and_close
from adapters.proxy.usage import StreamUsage, body_usage
from core import ccr

if TYPE_CHECKING:
    from adapters.proxy.forwarding import Proxy

log = logging.getLogger(__name__)

_SPLICERS: dict[str, type[AnthropicSplicer | ChatSplicer | ResponsesSplicer]] = {
    "messages": AnthropicSplicer, "count_tokens": AnthropicSplicer,
    "chat_completions": ChatSplicer, "responses": ResponsesSplicer,
}  # fmt: skip
_MERGERS: dict[str, type[AnthropicMerger | ChatMerger | ResponsesMerger]] = {
    "messages": AnthropicMerger, "count_tokens": AnthropicMerger,
    "chat_completions": ChatMerger, "responses": ResponsesMerger,
}  # fmt: skip


class ProxiedCall:
    """One proxied request on a compressed route, through every retrieve round."""

    def __init__(
        self,
        proxy: Proxy,
        dialect: Dialect,
        prepared: Prepared,
        record: ProxyRecord,
        started: float,
        tenant: str,
        headers: list[tuple[str, str]],
        url: str,
    ) -> None:
        self.proxy, self.dialect, self.prepared = proxy, dialect, prepared
        self.record, self.started, self.tenant = record, started, tenant
        self.headers, self.url = headers, url
        self.route = dialect.route

    async def send(self, body: bytes) -> httpx.Response:
        sent = time.perf_counter()
        response = await self.proxy.upstream.send("POST", self.url, self.headers, body)
        self.proxy.metrics.upstream.labels(self.route).observe(time.perf_counter() - sent)
        return response

    async def run(self) -> Response:
        proxy = self.proxy
        try:
            response = await self.send(self.prepared.body)
        except UpstreamUnreachable as error:
            return proxy.unreachable(
                self.route, self.dialect.provider, str(error), self.record, self.started
            )
        streamed = response.headers.get("content-type", "").startswith("text/event-stream")
        if response.status_code != 200 or not self.prepared.loop:
            usage = StreamUsage(self.dialect.provider) if streamed else None
            if not streamed and response.status_code == 200:
                return await self.buffered_plain(response)
            return proxy.passthrough(response, self.record, self.started, usage)
        if streamed:
            return self.streamed_loop(response)
        return await self.buffered_loop(response)

    async def buffered_plain(self, response: httpx.Response) -> Response:
        """A small JSON answer (no retrieve loop): read for its usage, returned as received."""
        try:
            raw = await read_and_close(response)
        except httpx.TransportError as error:
            return self.proxy.unreachable(
                self.route, self.dialect.provider, type(error).__name__, self.record, self.started
            )
        self.record.usage = body_usage(self.dialect.provider, _json(raw))
        return self.respond(raw, response)

    async def buffered_loop(self, response: httpx.Response) -> Response:
        merger = _MERGERS[self.dialect.route]()
        first = response
        raw, looped = b"", False
        while True:
            try:
                raw = await read_and_close(response)
            except httpx.TransportError as error:
                if not looped:
                    return self.proxy.unreachable(
                        self.route,
                        self.dialect.provider,
                        type(error).__name__,
                        self.record,
                        self.started,
                    )
                break
            body = _json(raw)
            try:
                calls = merger.add(body) if isinstance(body, dict) else None
            except Exception:  # an answer the merger cannot read goes back as it came
                log.warning("retrieve loop: unreadable %s response", self.dialect.provider)
                calls = None
            if calls is None or merger.rounds > self.proxy.settings.proxy_retrieve_rounds:
                looped = looped or calls is not None
                break
            looped = True
            answers = await self.answers(calls)
            try:
                next_response = await self.send(
                    continuation(self.prepared, self.dialect, merger.continuation(answers))
                )
            except UpstreamUnreachable as error:
                return self.proxy.unreachable(
                    self.route, self.dialect.provider, str(error), self.record, self.started
                )
            self.proxy.metrics.retrieve_rounds.labels(self.route).inc()
            self.record.retrieve_rounds += 1
            if next_response.status_code != 200:  # the provider's error, as it sent it
                try:
                    refusal = await read_and_close(next_response)
                except httpx.TransportError:
                    refusal = b""
                self.record.usage = merger.usage
                return self.respond(refusal, next_response)
            response = next_response
        self.record.usage = merger.usage
        return self.respond(merger.result() if looped or merger.rewrite else raw, first)

    def respond(self, raw: bytes, response: httpx.Response) -> Response:
        self.proxy.metrics.ttfb.labels(self.route).observe(time.perf_counter() - self.started)
        self.proxy.finish(self.record, response.status_code, self.started)
        return Response(
            raw,
            status_code=response.status_code,
            headers=downstream_headers(response.headers.multi_items()),
        )

    def streamed_loop(self, response: httpx.Response) -> Response:
        splicer = _SPLICERS[self.dialect.route]()
        proxy, record = self.proxy, self.record
        record.status = response.status_code
        current = response  # the round being streamed
        proxy.metrics.open_streams.inc()

        async def end(completed: bool) -> None:
            await close(current)
            proxy.metrics.open_streams.dec()
            record.usage = splicer.usage
            proxy.finish(record, response.status_code if completed else CLIENT_GONE, self.started)

        ending = Ending(end)

        async def body() -> AsyncIterator[bytes]:
            nonlocal current
            first = True
            done = False
            raw_mode = False  # the splicer failed: the rest goes through as received

            def pieces(reader: EventReader, chunk: bytes) -> list[bytes]:
                nonlocal raw_mode
                if raw_mode:
                    return [chunk]
                events = reader.feed(chunk)
                try:
                    return splicer.feed(events)
                except Exception:
                    log.warning("retrieve loop: unreadable %s stream", self.dialect.provider)
                    raw_mode = True
                    return [e.raw for e in events] + [reader.rest()]

            try:
                while True:
                    reader = EventReader()
                    try:
                        async for chunk in current.aiter_raw():
                            for piece in pieces(reader, chunk):
                                if first:
                                    first = False
                                    proxy.metrics.ttfb.labels(self.route).observe(
                                        time.perf_counter() - self.started
                                    )
                                yield piece
                    except httpx.TransportError:
                        raw_mode = True  # the provider cut the stream: so does the client's
                    await close(current)
                    if raw_mode:
                        done = True
                        return
                    calls = splicer.end_round()
                    if calls is None or splicer.rounds > proxy.settings.proxy_retrieve_rounds:
                        break
                    answers = await self.answers(calls)
                    try:
                        current = await self.send(
                            continuation(self.prepared, self.dialect, splicer.continuation(answers))
                        )
                    except UpstreamUnreachable as error:
                        yield errors.stream_error(self.route, None, str(error))
                        done = True
                        return
                    proxy.metrics.retrieve_rounds.labels(self.route).inc()
                    record.retrieve_rounds += 1
                    if current.status_code != 200:  # the provider's error, as it streams them
                        reason = f"HTTP {current.status_code}"
                        try:
                            raw = await read_and_close(current)
                        except httpx.TransportError:
                            raw = b""
                        yield errors.stream_error(self.route, raw, reason)
                        done = True
                        return
                closing = splicer.finish()
                if closing:
                    yield closing
                done = True
            finally:
                await ending(done)

        headers = downstream_headers(response.headers.multi_items())
        return ProxyStream(body(), ending, response.status_code, headers)

    async def answers(self, calls: list[Call]) -> dict[str, str]:
        out = {}
        for call in calls:
            try:
                original = await self.proxy.services.service.retrieve(self.tenant, call.hash)
            except Exception as error:  # StoreUnavailable, or any store fault: tell the model
                log.warning("retrieve loop: original store failed (%s)", type(error).__name__)
                out[call.id] = "The original store is unavailable; continue without it."
                continue
            out[call.id] = ccr.retrieval_text(call.hash, original, call.query)
        return out


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
