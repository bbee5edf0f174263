"""/v1/compress and /v1/retrieve: read the request, call the core, shape the reply."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from adapters.bootstrap import Services
from adapters.compress_request import (
    DEFAULT_MODEL,
    compress_request,
    is_true,
)
from adapters.http.errors import HttpError
from adapters.http.identity import identify, request_tags, tenant_of
from adapters.http.safe_json import SafeJSONResponse
from adapters.http.team import with_policy
from adapters.json_body import parse_object
from core import ccr
from core.errors import InvalidRequest
from core.ports import StoreUnavailable

MAX_QUERY_MATCHES = 200
MAX_RAW_TEXTS = 1000
TOOL_SHAPES = ("anthropic", "openai", "openai_responses")


def api_router(services: Services) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(identify(services))])

    @router.post("/compress")
    async def compress(request: Request) -> Response:
        parsed = compress_request(
            parse_object(await request.body()),
            tenant=tenant_of(request),
            session_id=request.headers.get("x-headroom-session-id"),
            bypass=is_true(request.headers.get("x-headroom-bypass")),
            tags=request_tags(request, services, "compress"),
        )
        parsed = with_policy(services, request, parsed)
        result = await services.service.compress(parsed)
        return Response(result.body(), media_type="application/json",
                        headers={"x-headroom-outcome": result.outcome})  # fmt: skip

    @router.post("/compress-raw")
    async def compress_raw(request: Request) -> Response:
        """The seed gateway's plugin contract: `{"texts": [...]}` -> one result per text."""
        body = parse_object(await request.body()).value
        texts, model = body.get("texts"), body.get("model") or DEFAULT_MODEL
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InvalidRequest("Missing required field: texts (an array of strings)")
        if len(texts) > MAX_RAW_TEXTS:
            raise InvalidRequest(f"at most {MAX_RAW_TEXTS} texts per request")
        if not isinstance(model, str):
            raise InvalidRequest("'model' must be a string")
        tags = request_tags(request, services, "compress-raw")
        results = await services.service.compress_texts(texts, model, tags)
        return SafeJSONResponse({"results": [
            {"compressed": r.compressed, "original_tokens": r.tokens_before,
             "compressed_tokens": r.tokens_after} for r in results
        ]})  # fmt: skip

    @router.get("/retrieve/tool")
    async def retrieve_tool(provider: str | None = None) -> JSONResponse:
        """The `headroom_retrieve` tool the ccr markers refer to, in each provider's shape, so
        a caller that handles retrieval itself declares exactly this tool."""
        if provider is None:
            return JSONResponse({name: ccr.retrieve_tool(name) for name in TOOL_SHAPES})
        if provider not in TOOL_SHAPES:
            raise InvalidRequest(f"provider must be one of: {', '.join(TOOL_SHAPES)}")
        return JSONResponse(ccr.retrieve_tool(provider))

    @router.get("/retrieve/{key}")
    async def retrieve(key: str, request: Request, query: str | None = None) -> JSONResponse:
        return await _retrieve(services, tenant_of(request), key, query)

    @router.post("/retrieve")
    async def retrieve_post(request: Request) -> JSONResponse:
        body = parse_object(await request.body()).value
        key, query = body.get("hash"), body.get("query")
        if not isinstance(key, str) or (query is not None and not isinstance(query, str)):
            raise InvalidRequest("body must carry 'hash' (string) and optionally 'query'")
        return await _retrieve(services, tenant_of(request), key, query)

    @router.post("/retrieve/tool_call")
    async def retrieve_tool_call(request: Request) -> JSONResponse:
        provider, call_id, key = ccr.parse_tool_call(parse_object(await request.body()).value)
        tenant = tenant_of(request)
        original = await _original(services, tenant, key)
        data: dict[str, Any] = (
            {"hash": key, "original_content": original}
            if original is not None
            else {"hash": key, "error": "unknown or expired hash", "status": "not_found"}
        )
        return SafeJSONResponse({"tool_result": ccr.tool_result(provider, call_id, data),
                             "success": original is not None, "data": data})  # fmt: skip

    return router


async def _retrieve(services: Services, tenant: str, key: str, query: str | None) -> JSONResponse:
    original = await _original(services, tenant, key)
    if original is None:
        raise HttpError(404, f"hash {key!r} is unknown or expired")
    payload: dict[str, Any] = {
        "hash": key,
        "original_content": original,
        "original_chars": len(original),
    }
    if query:
        terms = [t.lower() for t in query.split() if t]
        lines = [line for line in original.splitlines() if any(t in line.lower() for t in terms)]
        payload["query"] = query
        payload["matches"] = lines[:MAX_QUERY_MATCHES]
    return SafeJSONResponse(payload)


async def _original(services: Services, tenant: str, key: str) -> str | None:
    try:
        return await services.service.retrieve(tenant, key)
    except StoreUnavailable as error:
        raise HttpError(503, f"original store unavailable: {error}") from error
