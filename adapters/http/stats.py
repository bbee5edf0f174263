"""/stats, /stats/insights, /stats-history, /sessions, /pricing and /stats/export.csv.

Read from the ledger's database, so every replica answers with the whole fleet's numbers.
Operator only (the admin token, else the gateway token; see IdentityResolver). Filters:
`since` / `until` (epoch seconds or ISO 8601; `until` exclusive), or `window` (`90m`, `24h`,
`7d`); `user`, `team`, `project`. Time filters on aggregates are applied per whole hour (the
rollups' grain); request lists apply them exactly.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from adapters.bootstrap import Services
from adapters.http.errors import HttpError
from adapters.http.identity import operator_only
from adapters.ledger import queries
from adapters.ledger.database import LedgerUnavailable
from adapters.ledger.queries import StatsFilter
from core.errors import InvalidRequest

_WINDOW = re.compile(r"^(\d{1,6})([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def stats_router(services: Services, pricing: Callable[[], dict[str, Any]] | None = None
                 ) -> APIRouter:  # fmt: skip
    accounting = services.accounting
    router = APIRouter(dependencies=[Depends(operator_only(services))])

    async def read(fn: Callable[..., Any], *args: Any) -> Any:
        if accounting.ledger is None:
            raise HttpError(503, "the usage ledger is off (HEADROOM_LEDGER=false)")
        try:
            return await asyncio.to_thread(fn, accounting.ledger.reader, *args)
        except LedgerUnavailable as error:
            raise HttpError(503, f"ledger database unavailable: {error}") from error

    @router.get("/stats")
    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(await read(queries.stats, parse_filter(request)))

    @router.get("/stats/insights")
    async def insights(request: Request) -> JSONResponse:
        return JSONResponse(await read(queries.insights, parse_filter(request)))

    @router.get("/stats-history")
    async def history(request: Request) -> JSONResponse:
        return JSONResponse(await read(queries.history, parse_filter(request)))

    @router.get("/sessions")
    async def sessions(request: Request) -> JSONResponse:
        ttl = services.settings.session_ttl_seconds
        limit = services.settings.session_max_entries
        return JSONResponse(await read(queries.sessions, ttl, parse_filter(request), limit))

    @router.get("/stats/export.csv")
    async def export(request: Request, period: str = "day") -> Response:
        if period not in ("hour", "day", "month"):
            raise InvalidRequest("period must be hour, day or month")
        rows = await read(queries.export_rows, parse_filter(request), period)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(queries.EXPORT_COLUMNS)
        writer.writerows(rows)
        return Response(out.getvalue(), media_type="text/csv", headers={
            "content-disposition": 'attachment; filename="headroom-usage.csv"'})  # fmt: skip

    @router.get("/pricing")
    async def prices() -> JSONResponse:
        return JSONResponse(pricing() if pricing else {"models": {}, "source": "none"})

    return router


def parse_filter(request: Request) -> StatsFilter:
    params = request.query_params
    since, until = _instant(params.get("since")), _instant(params.get("until"))
    window = params.get("window")
    if window:
        match = _WINDOW.match(window)
        if not match:
            raise InvalidRequest("window must look like 90m, 24h or 7d")
        since = (until or time.time()) - int(match[1]) * _UNIT_SECONDS[match[2]]
    values = {}
    for name in ("user", "team", "project"):
        value = params.get(name)
        if value is not None and not 0 < len(value) <= 256:
            raise InvalidRequest(f"{name} must be 1 to 256 characters")
        values[name] = value
    return StatsFilter(since=since, until=until, **values)


def _instant(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"not a time: {value[:40]!r} (epoch seconds or ISO 8601)") from None
    if parsed.tzinfo is None:
        raise InvalidRequest("ISO times need a zone (e.g. 2026-12-01T00:00:00Z)")
    return parsed.timestamp()
