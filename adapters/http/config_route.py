"""`GET /v1/config`: the policy in force on this replica, for the operator.

Shows the resolved policy of every team, the file it came from, its content hash (equal on
every replica that applies the same file) and the last refusal, if the file on disk is bad.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from adapters.bootstrap import Services
from adapters.http.identity import operator_only


def config_router(services: Services) -> APIRouter:
    """The operator's view: the operator token (as for /stats) where keys and accounting run,
    else the gateway token; never a user's key."""
    settings = services.settings
    router = APIRouter(prefix="/v1", dependencies=[Depends(operator_only(services))])

    @router.get("/config")
    async def config() -> JSONResponse:
        policy = services.policy.describe()
        return JSONResponse({
            "cluster_id": settings.cluster_id,
            "profile": settings.profile,
            "kompress": settings.kompress,
            "policy": policy,
        })  # fmt: skip

    return router
