"""`/dashboard`: the operator's page (overview and playground), static and self-contained.

The page carries no data and no credentials: its script asks for the operator token, keeps
it in sessionStorage, and fetches /stats, /stats/insights, /v1/compress and /v1/retrieve
with it, so the numbers on screen are the /stats JSON itself. No external asset is loaded;
a strict Content-Security-Policy (default-src 'self', no inline script or style) is sent
with every file, so the page works offline and cannot be made to run injected code.
"""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}
FILES = {
    "dashboard.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}


@functools.cache
def asset(name: str) -> bytes:
    """A file of adapters/http/static, read once on first use (never at import)."""
    return resources.files("adapters.http").joinpath("static", name).read_bytes()


def dashboard_router() -> APIRouter:
    router = APIRouter()

    def serve(name: str) -> Response:
        return Response(asset(name), media_type=FILES[name], headers=HEADERS)

    @router.get("/dashboard", include_in_schema=False)
    async def page() -> Response:
        return serve("dashboard.html")

    @router.get("/dashboard/app.js", include_in_schema=False)
    async def script() -> Response:
        return serve("dashboard.js")

    @router.get("/dashboard/app.css", include_in_schema=False)
    async def style() -> Response:
        return serve("dashboard.css")

    return router
