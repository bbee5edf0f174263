"""The app factory: the whole HTTP surface, built from settings and services, at call time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.bootstrap import Services
from adapters.http.api import api_router
from adapters.http.health import health_router
from adapters.http.kompress_route import kompress_router
from adapters.http.middleware import BodySizeLimit, InFlight
from adapters.proxy.routes import proxy_router
from core.errors import InvalidRequest

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
        yield
        if warming is not None and not warming.done():
            warming.cancel()
        await services.aclose()

    app = FastAPI(title="headroom-gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(health_router(services))
    app.include_router(api_router(services))
    if services.settings.kompress not in (None, "off"):  # POST /compress, Kompress metric
        app.include_router(kompress_router(services))
    app.include_router(proxy_router(services))  # last: its /v1/ catch-all forwards the rest
    registry = services.telemetry.registry

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(InvalidRequest)
    async def invalid(request: Request, error: InvalidRequest) -> JSONResponse:
        services.telemetry.rejected()
        kind = {401: "unauthorized", 404: "not_found", 503: "unavailable"}.get(
            error.status, "invalid_request"
        )
        return JSONResponse({"error": {"type": kind, "message": error.message}},
                            status_code=error.status)  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def unprocessable(request: Request, error: RequestValidationError) -> JSONResponse:
        services.telemetry.rejected()
        return JSONResponse({"error": {"type": "invalid_request", "message": str(error)}},
                            status_code=422)  # fmt: skip

    app.add_middleware(InFlight, gauge=services.telemetry.in_flight)
    app.add_middleware(BodySizeLimit, max_bytes=services.settings.max_body_bytes or 16 * 2**20)
    return app
