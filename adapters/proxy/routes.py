"""The proxy's routes: provider APIs compressed and forwarded, anything else under /v1/
forwarded untouched. One httpx client per app, opened and closed by the router's lifespan.

Include this router after the gateway's own /v1 routes: its catch-all must not shadow them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from adapters.bootstrap import Services
from adapters.http.errors import HttpError
from adapters.proxy.anthropic import AnthropicMessages
from adapters.proxy.caller import proxy_gate
from adapters.proxy.forwarding import Proxy
from adapters.proxy.ledger import NoRecorder, ProxyRecorder
from adapters.proxy.metrics import ProxyMetrics
from adapters.proxy.openai_chat import OpenAIChat
from adapters.proxy.openai_responses import OpenAIResponses
from adapters.proxy.upstream import Upstream

#: Paths under /v1/ that are the gateway's own API, never forwarded.
OWN_PATHS = ("compress", "compress-raw", "retrieve", "config")
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def proxy_router(services: Services, recorder: ProxyRecorder | None = None) -> APIRouter:
    settings = services.settings
    upstream = Upstream(
        settings.anthropic_api_url, settings.openai_api_url, settings.upstream_timeout_seconds
    )
    proxy = Proxy(
        services, upstream, ProxyMetrics(services.telemetry.registry), recorder or NoRecorder()
    )

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await upstream.open()
        try:
            yield
        finally:
            await upstream.aclose()

    check_token = proxy_gate(services)
    router = APIRouter(lifespan=lifespan)
    for path, dialect in (
        ("/v1/messages", AnthropicMessages()),
        ("/v1/messages/count_tokens", AnthropicMessages("count_tokens")),
        ("/v1/chat/completions", OpenAIChat()),
        ("/v1/responses", OpenAIResponses()),
    ):
        router.add_api_route(
            path,
            proxy.endpoint(dialect),
            methods=["POST"],
            include_in_schema=False,
            dependencies=[Depends(check_token)],
        )

    @router.api_route("/v1/{path:path}", methods=_METHODS, include_in_schema=False)
    async def forward(path: str, request: Request) -> Response:
        if path.split("/", 1)[0] in OWN_PATHS:  # a wrong method on our own API: 405 first
            raise HttpError(405, f"/v1/{path} is the gateway's own API; this method is not "
                            "supported on it")  # fmt: skip
        await check_token(request)
        return await proxy.forward(request)

    return router
