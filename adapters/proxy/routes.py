"""The proxy's routes: provider APIs compressed and forwarded, anything else under /v1/
forwarded untouched. One httpx client per app, opened and closed by the router's lifespan.

Include this router after the gateway's own /v1 routes: its catch-all must not shadow them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from adapters.bootstrap import Services
from adapters.http.api import tenant_of
from adapters.http.auth import require_proxy_token
from adapters.proxy import errors
from adapters.proxy.anthropic import AnthropicMessages
from adapters.proxy.anthropic_stream import AnthropicSplicer, Call
from adapters.proxy.chat_stream import ChatSplicer
from adapters.proxy.dialect import Dialect
from adapters.proxy.headers import downstream_headers, upstream_headers
from adapters.proxy.ledger import NoRecorder, ProxyRecord, ProxyRecorder
from adapters.proxy.merge import AnthropicMerger, ChatMerger
from adapters.proxy.metrics import ProxyMetrics
from adapters.proxy.openai_chat import OpenAIChat
from adapters.proxy.openai_responses import OpenAIResponses
from adapters.proxy.prepare import Prepared, continuation, prepare
from adapters.proxy.responses_stream import ResponsesMerger, ResponsesSplicer
from adapters.proxy.sse import EventReader
from adapters.proxy.upstream import Provider, Upstream, UpstreamUnreachable
from adapters.proxy.usage import StreamUsage, body_usage
from core import ccr
from core.ports import StoreUnavailable

log = logging.getLogger(__name__)

_SPLICERS: dict[str, type[AnthropicSplicer | ChatSplicer | ResponsesSplicer]] = {
    "messages": AnthropicSplicer, "count_tokens": AnthropicSplicer,
    "chat_completions": ChatSplicer, "responses": ResponsesSplicer,
}  # fmt: skip
_MERGERS: dict[str, type[AnthropicMerger | ChatMerger | ResponsesMerger]] = {
    "messages": AnthropicMerger, "count_tokens": AnthropicMerger,
    "chat_completions": ChatMerger, "responses": ResponsesMerger,
}  # fmt: skip
#: Paths under /v1/ that are the gateway's own API, never forwarded.
OWN_PATHS = ("compress", "compress-raw", "retrieve")
#: Status recorded (metrics, ledger) for a stream the client left before its end (nginx's).
CLIENT_GONE = 499
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def proxy_router(services: Services, recorder: ProxyRecorder | None = None) -> APIRouter:
    settings = services.settings
    upstream = Upstream(
        settings.anthropic_api_url, settings.openai_api_url, settings.upstream_timeout_seconds
    )
    proxy = _Proxy(
        services, upstream, ProxyMetrics(services.telemetry.registry), recorder or NoRecorder()
    )

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await upstream.open()
        try:
            yield
        finally:
            await upstream.aclose()

    router = APIRouter(
        lifespan=lifespan, dependencies=[Depends(require_proxy_token(settings.token()))]
    )
    for path, dialect in (
        ("/v1/messages", AnthropicMessages()),
        ("/v1/messages/count_tokens", AnthropicMessages("count_tokens")),
        ("/v1/chat/completions", OpenAIChat()),
        ("/v1/responses", OpenAIResponses()),
    ):
        router.add_api_route(
            path, proxy.endpoint(dialect), methods=["POST"], include_in_schema=False
        )

    @router.api_route("/v1/{path:path}", methods=_METHODS, include_in_schema=False)
    async def forward(path: str, request: Request) -> Response:
        if path.split("/", 1)[0] in OWN_PATHS:
            return errors.not_proxied(path)
        return await proxy.forward(request)

    return router


class _Proxy:
    def __init__(
        self, services: Services, upstream: Upstream, metrics: ProxyMetrics, recorder: ProxyRecorder
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.upstream = upstream
        self.metrics = metrics
        self.recorder = recorder

    def endpoint(self, dialect: Dialect) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            return await self.handle(dialect, request)

        return handle

    async def handle(self, dialect: Dialect, request: Request) -> Response:
        started = time.perf_counter()
        headers = {k.lower(): v for k, v in request.headers.items()}
        tenant = tenant_of(request, self.settings.identity_headers)
        mode = headers.get("x-headroom-mode", self.settings.proxy_mode).strip().lower()
        prepared = await prepare(
            self.services.service,
            dialect,
            await request.body(),
            tenant=tenant,
            headers=headers,
            mode=mode,
        )
        record = ProxyRecord(
            route=dialect.route,
            model=prepared.model,
            status=0,
            tenant=tenant,
            tokens_before=prepared.tokens_before,
            tokens_after=prepared.tokens_after,
            outcome=prepared.outcome,
            user_agent=headers.get("user-agent", "")[:256],
            stream=prepared.stream,
            session_id=prepared.session_id,
        )
        call = _Call(
            self,
            dialect,
            prepared,
            record,
            started,
            tenant,
            upstream_headers(request.headers.items(), identity_encoding=True),
            self.upstream.url(dialect.provider, request.url.path, request.url.query),
        )
        return await call.run()

    async def forward(self, request: Request) -> Response:
        """Anything else under /v1/: method, headers and body as sent, response as received.
        Anthropic when the caller sends Anthropic's headers, else OpenAI."""
        started = time.perf_counter()
        provider: Provider = (
            "anthropic"
            if ("anthropic-version" in request.headers or "x-api-key" in request.headers)
            else "openai"
        )
        url = self.upstream.url(provider, request.url.path, request.url.query)
        body = await request.body()
        record = ProxyRecord(
            route="other",
            model="",
            status=0,
            tenant=tenant_of(request, self.settings.identity_headers),
            tokens_before=0,
            tokens_after=0,
            outcome="forwarded",
            user_agent=request.headers.get("user-agent", "")[:256],
        )
        try:
            response = await self.upstream.send(
                request.method, url, upstream_headers(request.headers.items()), body or None
            )
        except UpstreamUnreachable as error:
            return self.unreachable("other", provider, str(error), record, started)
        self.metrics.upstream.labels("other").observe(time.perf_counter() - started)
        return self.passthrough(response, record, started, None)

    def unreachable(
        self, route: str, provider: str, reason: str, record: ProxyRecord, started: float
    ) -> Response:
        self.metrics.upstream_errors.labels(route).inc()
        self.finish(record, 502, started)
        return errors.unreachable(provider, reason)

    def passthrough(
        self,
        response: httpx.Response,
        record: ProxyRecord,
        started: float,
        usage: StreamUsage | None,
    ) -> Response:
        """The provider's response as it arrives, byte for byte, never buffered whole."""
        record.status = response.status_code

        async def body() -> AsyncIterator[bytes]:
            first = True
            done = False
            self.metrics.open_streams.inc()
            try:
                async for chunk in response.aiter_raw():
                    if usage is not None:
                        usage.feed(chunk)
                    if first:
                        first = False
                        self.metrics.ttfb.labels(record.route).observe(
                            time.perf_counter() - started
                        )
                    yield chunk
                done = True
            except httpx.TransportError:
                done = True  # the provider cut the stream: the client's ends there too
            finally:
                await _close(response)
                self.metrics.open_streams.dec()
                if usage is not None:
                    record.usage = usage.usage
                self.finish(record, response.status_code if done else CLIENT_GONE, started)

        return StreamingResponse(
            body(),
            status_code=response.status_code,
            headers=downstream_headers(response.headers.multi_items()),
        )

    def finish(self, record: ProxyRecord, status: int, started: float) -> None:
        record.status = status
        record.latency_seconds = time.perf_counter() - started
        self.metrics.requests.labels(record.route, str(status)).inc()
        self.metrics.usage(record.route, record.usage)
        try:
            self.recorder.record(record)
        except Exception:  # a ledger fault never fails a request
            pass


class _Call:
    """One proxied request on a compressed route, through every retrieve round."""

    def __init__(
        self,
        proxy: _Proxy,
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
            raw = await _read(response)
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
                raw = await _read(response)
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
            except UpstreamUnreachable:
                break
            self.proxy.metrics.retrieve_rounds.labels(self.route).inc()
            self.record.retrieve_rounds += 1
            if next_response.status_code != 200:
                await _close(next_response)
                break
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

        async def body() -> AsyncIterator[bytes]:
            current = response
            first = True
            done = False
            raw_mode = False  # the splicer failed: the rest goes through as received
            proxy.metrics.open_streams.inc()

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
                    await _close(current)
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
                    except UpstreamUnreachable:
                        break
                    proxy.metrics.retrieve_rounds.labels(self.route).inc()
                    record.retrieve_rounds += 1
                    if current.status_code != 200:
                        break
                closing = splicer.finish()
                if closing:
                    yield closing
                done = True
            finally:
                await _close(current)
                proxy.metrics.open_streams.dec()
                record.usage = splicer.usage
                status = response.status_code if done else CLIENT_GONE
                proxy.finish(record, status, self.started)

        return StreamingResponse(
            body(),
            status_code=response.status_code,
            headers=downstream_headers(response.headers.multi_items()),
        )

    async def answers(self, calls: list[Call]) -> dict[str, str]:
        out = {}
        for call in calls:
            try:
                original = await self.proxy.services.service.retrieve(self.tenant, call.hash)
            except StoreUnavailable:
                out[call.id] = "The original store is unavailable; continue without it."
                continue
            out[call.id] = ccr.retrieval_text(call.hash, original, call.query)
        return out


async def _read(response: httpx.Response) -> bytes:
    try:
        return await response.aread()
    finally:
        await _close(response)


async def _close(response: httpx.Response) -> None:
    """Close even while being cancelled (a client that went away): the upstream connection
    must be released, and with it the provider's request."""
    with anyio.CancelScope(shield=True):
        await response.aclose()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
