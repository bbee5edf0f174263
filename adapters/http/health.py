"""Kubernetes-style probes: live (process answers), startup and ready (engines warm).

Readiness stays 200 while shared state is down: every replica would otherwise leave the
Service at once, and requests still succeed (without replay) in that state. The body says
"degraded" and a gauge records it.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from adapters.bootstrap import Services

_PING_TIMEOUT_SECONDS = 0.5


def health_router(services: Services) -> APIRouter:
    router = APIRouter()

    async def live() -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def startup() -> JSONResponse:
        warm = services.service.ready
        return JSONResponse({"status": "started" if warm else "starting"},
                            status_code=200 if warm else 503)  # fmt: skip

    async def ready() -> JSONResponse:
        if not services.service.ready:
            return JSONResponse({"status": "warming"}, status_code=503)
        stores = await _ping_stores(services)
        shared_ok = all(stores.values())
        services.telemetry.shared_state_ok.set(1 if shared_ok else 0)
        return JSONResponse({"status": "ready",
                             "shared_state": "ok" if shared_ok else "degraded",
                             "stores": stores, "engines": services.engine_status()})  # fmt: skip

    for path, handler in (("/live", live), ("/livez", live), ("/startup", startup),
                          ("/ready", ready), ("/readyz", ready), ("/health", ready)):  # fmt: skip
        router.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
    return router


async def _ping_stores(services: Services) -> dict[str, bool]:
    async def ping(store: object) -> bool:
        try:
            return bool(await asyncio.wait_for(store.ping(), _PING_TIMEOUT_SECONDS))  # type: ignore[attr-defined]
        except Exception:
            return False

    session_ok, originals_ok = await asyncio.gather(
        ping(services.sessions), ping(services.originals)
    )
    return {"sessions": session_ok, "originals": originals_ok}
