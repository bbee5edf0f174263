"""Forwarding: one proxied request from the client's body to the client's response, with the
metrics and the ledger record it leaves; plain passthrough for anything not compressed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from fastapi import Request
from fastapi.responses import Response

from adapters.bootstrap import Services
from adapters.http.team import with_policy
from adapters.proxy import errors
from adapters.proxy.caller import identify_caller
from adapters.proxy.dialect import Dialect
from adapters.proxy.headers import downstream_headers, upstream_headers
from adapters.proxy.ledger import CLIENT_GONE, ProxyRecord, ProxyRecorder
from adapters.proxy.metrics import ProxyMetrics
from adapters.proxy.prepare import prepare
from adapters.proxy.retrieve_loop import ProxiedCall
from adapters.proxy.streaming import Ending, ProxyStream
from adapters.proxy.upstream import Provider, Upstream, UpstreamUnreachable, close
from adapters.proxy.usage import StreamUsage


class Proxy:
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
        caller = identify_caller(self.services, request, dialect.provider)
        tenant = caller.tenant
        mode = headers.get("x-headroom-mode", self.settings.proxy_mode).strip().lower()
        prepared = await prepare(
            self.services.service,
            dialect,
            await request.body(),
            tenant=tenant,
            headers=headers,
            mode=mode,
            policy=lambda parsed: with_policy(self.services, request, parsed),
        )
        record = ProxyRecord(
            route=dialect.route,
            model=prepared.model,
            status=0,
            tenant=tenant,
            tokens_before=prepared.tokens_before,
            tokens_after=prepared.tokens_after,
            outcome=prepared.outcome,
            stream=prepared.stream,
            session_id=prepared.session_id,
            tags=caller.tags,
        )
        call = ProxiedCall(
            self,
            dialect,
            prepared,
            record,
            started,
            tenant,
            caller.upstream(upstream_headers(request.headers.items(), identity_encoding=True)),
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
        caller = identify_caller(self.services, request, provider)
        record = ProxyRecord(
            route="other",
            model="",
            status=0,
            tenant=caller.tenant,
            tokens_before=0,
            tokens_after=0,
            outcome="forwarded",
            tags=caller.tags,
        )
        try:
            response = await self.upstream.send(
                request.method,
                url,
                caller.upstream(upstream_headers(request.headers.items())),
                body or None,
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
        self.metrics.open_streams.inc()

        async def end(completed: bool) -> None:
            await close(response)
            self.metrics.open_streams.dec()
            if usage is not None:
                record.usage = usage.usage
            self.finish(record, response.status_code if completed else CLIENT_GONE, started)

        ending = Ending(end)

        async def body() -> AsyncIterator[bytes]:
            first = True
            completed = False
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
                completed = True
            except httpx.TransportError:
                completed = True  # the provider cut the stream: the client's ends there too
            finally:
                await ending(completed)

        headers = downstream_headers(response.headers.multi_items())
        return ProxyStream(body(), ending, response.status_code, headers)

    def finish(self, record: ProxyRecord, status: int, started: float) -> None:
        record.status = status
        record.latency_seconds = time.perf_counter() - started
        self.metrics.requests.labels(record.route, str(status)).inc()
        self.metrics.usage(record.route, record.usage)
        try:
            self.recorder.record(record)
        except Exception:  # a ledger fault never fails a request
            pass
