"""`GET /v1/config`: the policy in force on this replica, for the operator.

Shows the resolved policy of every team, the file it came from, its content hash (equal on
every replica that applies the same file) and the last refusal, if the file on disk is bad.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from adapters.bootstrap import Services
from adapters.http.auth import require_token


def config_router(services: Services) -> APIRouter:
    settings = services.settings
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_token(settings.token()))])

    @router.get("/config")
    async def config() -> JSONResponse:
        policy = services.policy.describe() if services.policy else None
        return JSONResponse({
            "cluster_id": settings.cluster_id,
            "profile": settings.profile,
            "kompress": settings.kompress,
            "policy": policy,
        })  # fmt: skip

    return router
