"""/v1/compress and /v1/retrieve: parse and check the request, call the core, shape the reply.

The body is parsed here rather than by a pydantic model: messages are free-form provider
JSON that must come back byte-identical, and every malformed shape gets a specific 400.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from adapters.bootstrap import Services
from adapters.http.auth import require_token
from adapters.http.identity import identify, request_tags
from core import ccr
from core.errors import InvalidRequest
from core.messages import validate
from core.policy import CompressOptions
from core.ports import StoreUnavailable
from core.service import CompressRequest

MAX_SESSION_ID_CHARS = 256
MAX_QUERY_MATCHES = 200


def api_router(services: Services) -> APIRouter:
    settings = services.settings
    check = identify(services) if services.accounting else require_token(settings.token())
    router = APIRouter(prefix="/v1", dependencies=[Depends(check)])

    @router.post("/compress")
    async def compress(request: Request) -> Response:
        body = _json_object(await request.body())
        if "messages" not in body:
            raise InvalidRequest("Missing required field: messages")
        messages = validate(body["messages"])
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequest("Missing required field: model (a non-empty string)")
        config = body.get("config")
        options = CompressOptions.parse(config)
        session_id = request.headers.get("x-headroom-session-id")
        if session_id is None and isinstance(config, dict):
            session_id = config.get("session_id")
        if session_id is not None and (
            not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_SESSION_ID_CHARS
        ):
            raise InvalidRequest("session id must be a string of 1 to 256 characters")
        result = await services.service.compress(
            CompressRequest(
                messages=messages,
                model=model,
                options=options,
                tenant=tenant_of(request, settings.identity_headers),
                session_id=session_id,
                bypass=request.headers.get("x-headroom-bypass", "").lower() == "true",
                tags=request_tags(request, services, "compress"),
            )
        )
        return Response(result.body(), media_type="application/json",
                        headers={"x-headroom-outcome": result.outcome})  # fmt: skip

    @router.get("/retrieve/{key}")
    async def retrieve(key: str, request: Request, query: str | None = None) -> JSONResponse:
        return await _retrieve(services, tenant_of(request, settings.identity_headers), key, query)

    @router.post("/retrieve")
    async def retrieve_post(request: Request) -> JSONResponse:
        body = _json_object(await request.body())
        key, query = body.get("hash"), body.get("query")
        if not isinstance(key, str) or (query is not None and not isinstance(query, str)):
            raise InvalidRequest("body must carry 'hash' (string) and optionally 'query'")
        return await _retrieve(services, tenant_of(request, settings.identity_headers), key, query)

    @router.post("/retrieve/tool_call")
    async def retrieve_tool_call(request: Request) -> JSONResponse:
        provider, call_id, key = ccr.parse_tool_call(_json_object(await request.body()))
        tenant = tenant_of(request, settings.identity_headers)
        original = await _original(services, tenant, key)
        data: dict[str, Any] = (
            {"hash": key, "original_content": original}
            if original is not None
            else {"hash": key, "error": "unknown or expired hash", "status": "not_found"}
        )
        return JSONResponse({"tool_result": ccr.tool_result(provider, call_id, data),
                             "success": original is not None, "data": data})  # fmt: skip

    return router


def tenant_of(request: Request, identity_headers: list[str]) -> str:
    """The caller's user names the tenant (a key's user, or a trusted identity header);
    without identity resolution, the first identity header present. State is scoped by it."""
    identity = getattr(request.state, "identity", None)
    if identity is not None:
        return str(identity.user)
    for header in identity_headers:
        value = request.headers.get(header, "").strip()
        if value:
            return value[:256]
    return "anonymous"


async def _retrieve(services: Services, tenant: str, key: str, query: str | None) -> JSONResponse:
    original = await _original(services, tenant, key)
    if original is None:
        return JSONResponse({"error": {"type": "not_found",
                                       "message": f"hash {key!r} is unknown or expired"}},
                            status_code=404)  # fmt: skip
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
    return JSONResponse(payload)


async def _original(services: Services, tenant: str, key: str) -> str | None:
    try:
        return await services.service.retrieve(tenant, key)
    except StoreUnavailable as error:
        raise InvalidRequest(f"original store unavailable: {error}", status=503) from error


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest("Invalid JSON in request body.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object.")
    return body
