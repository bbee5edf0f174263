"""The app factory: the whole HTTP surface, built from settings and services, at call time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from fastapi import FastAPI
from prometheus_client import make_asgi_app
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.bootstrap import Services
from adapters.http.api import api_router
from adapters.http.config_route import config_router
from adapters.http.dashboard import dashboard_router
from adapters.http.errors import install_error_handlers
from adapters.http.guards import BodyReadTimeout, HeaderLimit, LastResort
from adapters.http.gzip_body import InflateBody
from adapters.http.health import health_router
from adapters.http.kompress_route import kompress_router
from adapters.http.middleware import BodySizeLimit, InFlight
from adapters.http.stats import stats_router
from adapters.proxy.accounting import LedgerRecorder
from adapters.proxy.routes import proxy_router
from adapters.sweeper import sweep_periodically

log = logging.getLogger(__name__)


def create_app(services: Services) -> FastAPI:
    """One app per call, with its own metrics registry; nothing shared between apps.

    Engines warm in the background at startup, so probes answer (503) while they do; a
    target that warms before serving (Lambda's init phase) finds them ready already."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warming = None
        if not services.service.ready:
            warming = asyncio.get_running_loop().run_in_executor(None, services.warm)
        sweeping = asyncio.create_task(
            sweep_periodically(services.sweepers, services.settings.sweep_interval_seconds)
        )
        async with services.policy.watching() if services.policy else nullcontext():
            yield
        sweeping.cancel()
        if warming is not None and not warming.done():
            warming.cancel()
        await services.aclose()

    app = FastAPI(title="headroom-gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(health_router(services))
    app.include_router(api_router(services))
    # /stats, /stats/insights, /stats-history, /sessions...
    app.include_router(stats_router(services, services.accounting.pricing))
    app.include_router(config_router(services))
    app.include_router(dashboard_router())
    if services.engines.text_compressor is not None:
        app.include_router(kompress_router(services))
    metrics = make_asgi_app(registry=services.telemetry.registry)
    app.router.routes.append(Route("/metrics", AsgiEndpoint(metrics), methods=["GET"]))
    install_error_handlers(app, services.telemetry.http_error)
    # last: its /v1/ catch-all forwards the rest; every proxied request becomes a usage row
    app.include_router(proxy_router(services, LedgerRecorder(services.accounting)))
    app.add_middleware(InFlight, gauge=services.telemetry.in_flight)
    settings, count = services.settings, services.telemetry.http_error
    app.add_middleware(InflateBody, max_bytes=settings.max_body_bytes, count=count)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, on_refuse=count)
    app.add_middleware(BodyReadTimeout, seconds=settings.body_read_timeout_seconds, count=count)
    app.add_middleware(HeaderLimit, max_bytes=settings.max_header_bytes,
                       max_count=settings.max_headers, count=count)  # fmt: skip
    app.add_middleware(LastResort, count=count)  # outermost: catches what the others raise
    return app


class AsgiEndpoint:
    """Serves a plain ASGI callable at one exact path (a Mount would redirect /metrics to
    /metrics/); Starlette treats a class instance, unlike a function, as an ASGI app."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
