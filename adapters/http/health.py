"""Probes, with Kubernetes' names and the seed gateway's bodies (a superset of both).

- `/live`, `/livez`: the process answers.
- `/health`, `/healthz`: 200 `{"status": "ok", ...}` whenever the process answers, as the
  seed gateway and upstream's plugin deployments probe it; `ready` says whether it is warm.
- `/startup`: 200 once the engines are warm.
- `/ready`, `/readyz`: 200 `{"status": "ready", "db", "uptime_seconds", ...}` once warm.

Readiness stays 200 while shared state is down: every replica would otherwise leave the
Service at once, and requests still succeed (without replay) in that state. The body says
"degraded" and a gauge records it. It never depends on a model provider.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from adapters.bootstrap import Services
from core.ports import OriginalStore, SessionStore

_PING_TIMEOUT_SECONDS = 0.5


def health_router(services: Services) -> APIRouter:
    router = APIRouter()
    started = time.monotonic()

    def uptime() -> int:
        return round(time.monotonic() - started)

    async def live() -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "ready": services.service.ready,
                             "uptime_seconds": uptime()})  # fmt: skip

    async def startup() -> JSONResponse:
        warm = services.service.ready
        return JSONResponse({"status": "started" if warm else "starting"},
                            status_code=200 if warm else 503)  # fmt: skip

    async def ready() -> JSONResponse:
        if not services.service.ready:
            return JSONResponse({"status": "warming", "uptime_seconds": uptime()},
                                status_code=503)  # fmt: skip
        stores = await _ping_stores(services)
        shared_ok = all(stores.values())
        services.telemetry.shared_state_ok.set(1 if shared_ok else 0)
        return JSONResponse({"status": "ready", "db": services.database(),
                             "uptime_seconds": uptime(),
                             "shared_state": "ok" if shared_ok else "degraded",
                             "stores": stores, "engines": services.engine_status()})  # fmt: skip

    routes = (("/live", live), ("/livez", live), ("/health", health), ("/healthz", health),
              ("/startup", startup), ("/ready", ready), ("/readyz", ready))  # fmt: skip
    for path, handler in routes:
        router.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
    return router


async def _ping_stores(services: Services) -> dict[str, bool]:
    async def ping(store: SessionStore | OriginalStore) -> bool:
        try:
            return await asyncio.wait_for(store.ping(), _PING_TIMEOUT_SECONDS)
        except Exception:
            return False

    session_ok, originals_ok = await asyncio.gather(
        ping(services.sessions), ping(services.originals)
    )
    return {"sessions": session_ok, "originals": originals_ok}
