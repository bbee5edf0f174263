"""Upstream headroom's remote Kompress endpoint, answered by this gateway's local model.

A headroom proxy with HEADROOM_KOMPRESS_ENDPOINT pointing here, and our own CPU sidecars with
HEADROOM_KOMPRESS=remote, call (field names as upstream's kompress_remote client):

    POST /compress   {"content": "<text>", "target_ratio": 0.5 | null}
    200              {"compressed": "<text>", "original_tokens": int, "compressed_tokens": int,
                      "compression_ratio": float, "model_used": str}

Counts are words, as upstream's Kompress reports them; text too short or with nothing to drop
comes back unchanged (ratio 1.0). 503 while warming or when the model is unavailable (callers
then pass prose through), 400 on a malformed body, 401 without the token.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from adapters.bootstrap import Services
from adapters.http.auth import require_token
from adapters.http.errors import HttpError, error_response
from adapters.json_body import parse_object
from adapters.kompress.local import LocalKompress
from core.errors import InvalidRequest


def kompress_router(services: Services) -> APIRouter:
    """POST /compress when this process runs Kompress itself (not when it is remote)."""
    text = services.engines.text_compressor
    router = APIRouter(dependencies=[Depends(require_token(services.settings.token()))])
    if not isinstance(text, LocalKompress):
        return router

    @router.post("/compress", include_in_schema=False)
    async def compress(request: Request) -> Response:
        content, target_ratio = _parse(await request.body())
        if not services.service.ready:
            return _unavailable("kompress:warming up")
        if text.backend == "unavailable":
            return _unavailable(text.status)
        loop = asyncio.get_running_loop()
        shrunk = await loop.run_in_executor(services.executor, text.compress, content,
                                            target_ratio)  # fmt: skip
        if text.backend not in ("cpu", "cuda"):
            return _unavailable(text.status)
        compressed = content if shrunk is None else shrunk
        before, after = len(content.split()), len(compressed.split())
        return JSONResponse({
            "compressed": compressed,
            "original_tokens": before,
            "compressed_tokens": after,
            "compression_ratio": round(after / before, 4) if before else 1.0,
            "model_used": text.model_name,
        })  # fmt: skip

    return router


def _parse(raw: bytes) -> tuple[str, float | None]:
    body = parse_object(raw).value  # strict JSON, bounded depth: a bad body is a 400
    content = body.get("content")
    if not isinstance(content, str):
        raise InvalidRequest("Missing required field: content (a string)")
    ratio = body.get("target_ratio")
    if ratio is None:
        return content, None
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
        raise InvalidRequest("target_ratio must be null or a number in (0, 1]")
    return content, float(ratio)


def _unavailable(reason: str) -> Response:
    return error_response(HttpError(503, reason))
