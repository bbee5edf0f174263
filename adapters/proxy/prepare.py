"""A provider request body in, the body to send upstream out: compressed by the core, with
the retrieve tool declared in ccr mode. Any failure sends the caller's body unchanged."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.compress_request import is_true
from adapters.proxy.dialect import Dialect, declares, render, with_tool
from core import ccr
from core.errors import InvalidRequest
from core.messages import validate
from core.policy import CompressOptions
from core.replay import wire
from core.service import CompressionService, CompressRequest
from core.tags import RequestTags

#: Tags of the proxy's own compression: its ledger row comes from the proxy itself.
PROXY_TAGS = RequestTags(route="proxy")

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What goes upstream, and what the retrieve loop needs to continue the turn."""

    body: bytes
    parsed: dict[str, Any] | None = None  # the body sent, for all but its conversation...
    items_json: list[str] = field(default_factory=list)  # ...which is this, as sent
    model: str = ""
    stream: bool = False
    loop: bool = False  # the retrieve tool is declared: the proxy must answer its calls
    tokens_before: int = 0
    tokens_after: int = 0
    outcome: str = "passthrough"
    session_id: str | None = None


async def prepare(
    service: CompressionService,
    dialect: Dialect,
    raw: bytes,
    *,
    tenant: str,
    headers: dict[str, str],
    mode: str,
    policy: Callable[[CompressRequest], CompressRequest] | None = None,
) -> Prepared:
    """`policy` applies the operator's central policy (core/org_policy.py) to the request:
    its mode, protected tools and options, and its kill switch (the body goes as sent)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return Prepared(raw, outcome="unparsed")  # the provider answers with its own 400
    if not isinstance(body, dict):
        return Prepared(raw, outcome="unparsed")
    model = body.get("model") if isinstance(body.get("model"), str) else ""
    prepared = Prepared(raw, model=model or "", stream=body.get("stream") is True)
    prepared.session_id = dialect.session_id(headers, body)
    if is_true(headers.get("x-headroom-bypass")):  # true, 1, yes, on: as /v1/compress reads it
        prepared.outcome = "bypassed"
        return prepared
    ccr_mode = mode == "ccr" and dialect.loops
    loop = False
    try:
        converted = dialect.to_core(body)
        if converted is None:
            return prepared
        messages, state = converted
        request = CompressRequest(
            messages=validate(messages),
            model=model or "default",
            options=CompressOptions(ccr=ccr_mode),
            tenant=tenant,
            session_id=prepared.session_id,
            tags=PROXY_TAGS,  # the ledger row comes from the proxy, with provider usage
        )
        if policy is not None:
            request = policy(request)
            if request.bypass:  # the operator's kill switch: the body goes as sent
                prepared.outcome = "bypassed"
                return prepared
            if request.options.ccr and not dialect.loops:  # no retrieve loop, no markers
                request = replace(request, options=replace(request.options, ccr=False))
        # A caller that declares headroom_retrieve itself resolves its calls itself (upstream
        # headroom's clients do): the proxy then neither declares it again nor answers it.
        loop = request.options.ccr and not declares(body, ccr.TOOL_NAME)
        result = await service.compress(request)
        if result.outcome == "failed_open":
            raise RuntimeError("compression failed open")
        items = dialect.from_core(body, result.messages_json, state)
        if loop:
            body = with_tool(body, ccr.retrieve_tool(dialect.tool_provider))
        prepared.body = render(body, dialect.items_key, items)
    except Exception as error:  # the proxy never adds a failure of its own
        log.warning(
            "proxy compression skipped (%s); forwarding the body unchanged", type(error).__name__
        )
        prepared.body = raw
        prepared.outcome = "invalid" if isinstance(error, InvalidRequest) else "failed_open"
        return prepared
    prepared.parsed, prepared.items_json = body, items
    prepared.loop = loop
    prepared.tokens_before, prepared.tokens_after = result.tokens_before, result.tokens_after
    prepared.outcome = result.outcome
    return prepared


def continuation(prepared: Prepared, dialect: Dialect, extra: list[dict[str, Any]]) -> bytes:
    """The same request with the turn so far appended: the prefix keeps its exact bytes."""
    assert prepared.parsed is not None
    prepared.items_json = prepared.items_json + [wire(m) for m in extra]
    return render(prepared.parsed, dialect.items_key, prepared.items_json)
