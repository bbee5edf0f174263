"""Who is calling through the proxy, whether it may, and which provider credential goes up.

The gate: with a gateway token configured, a caller presents it in `X-Headroom-Proxy-Token`,
or presents a gateway key (there, or as its provider credential), since `Authorization` and
`x-api-key` otherwise carry the caller's own provider key upstream.

With accounting on, a gateway key (`hgw_...`) in `x-api-key` or `Authorization` is a managed
caller: the organisation's provider key (HEADROOM_ANTHROPIC_API_KEY / _OPENAI_API_KEY, from a
secret) replaces it upstream. Any other credential is the caller's own key and passes through
untouched; the caller is known by its keyed fingerprint (or by a trusted identity header).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from fastapi import Request

from adapters.bootstrap import Services
from adapters.http.errors import HttpError
from adapters.http.identity import request_tags
from adapters.identity.resolve import Identity, Unauthenticated, bearer
from adapters.identity.store import KeyRecord
from adapters.proxy.upstream import Provider
from core.tags import RequestTags

_CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})


@dataclass(frozen=True)
class Caller:
    tenant: str
    #: What the ledger row says about the caller: the same tags a /v1/compress row carries.
    tags: RequestTags
    #: The header that replaces the caller's credential upstream (managed callers only).
    credential: tuple[str, str] | None = None

    def upstream(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """`headers` with the organisation's credential in place of the caller's, if managed."""
        if self.credential is None:
            return headers
        kept = [(n, v) for n, v in headers if n.lower() not in _CREDENTIAL_HEADERS]
        return [*kept, self.credential]


def proxy_gate(services: Services) -> Callable[[Request], Awaitable[None]]:
    """A dependency: the gateway token or any active gateway key lets a caller through."""
    token = services.settings.token()

    async def check(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("x-headroom-proxy-token")
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            return
        if _gateway_key(services, request) is not None:
            return
        raise HttpError(401, "missing or invalid X-Headroom-Proxy-Token "
                        "(the gateway token, or your gateway key)")  # fmt: skip

    return check


def _gateway_key(services: Services, request: Request) -> KeyRecord | None:
    """The active gateway key among the caller's credentials, if any."""
    for given in (request.headers.get("x-headroom-proxy-token"),
                  request.headers.get("x-api-key"), bearer(request.headers)):  # fmt: skip
        if given:
            record = services.accounting.keyring.lookup(given)
            if record is not None:
                return record
    return None


def identify_caller(services: Services, request: Request, provider: Provider) -> Caller:
    """The caller of a proxied request; HttpError 401 when keys are required and it has none."""
    settings = services.settings
    peer = request.client.host if request.client else None
    header_key = request.headers.get("x-headroom-proxy-token")
    record = services.accounting.keyring.lookup(header_key) if header_key else None
    if record is not None:  # a gateway key beside the caller's own provider key: not managed
        request.state.identity = identity = Identity(
            record.user, record.team, record.project, record.key_id, "key"
        )
        return Caller(identity.user, request_tags(request, services, "proxy"))
    try:
        who = services.accounting.resolver.resolve_proxy(request.headers, peer)
    except Unauthenticated as refused:
        raise HttpError(401, str(refused)) from None
    identity = who.identity
    trusted = services.accounting.resolver.trusted_peer(peer)
    if not identity.team and identity.source != "key" and trusted:  # a key decides its team
        # a trusted peer (loopback sidecar, configured network) may name the team by header
        identity = replace(identity, source="header")
    request.state.identity = identity  # the operator's per-team policy reads the team
    credential = None
    if who.managed:
        key = settings.anthropic_api_key if provider == "anthropic" else settings.openai_api_key
        if key is None:
            setting = f"HEADROOM_{provider.upper()}_API_KEY"
            raise HttpError(503, f"no organisation {provider} key is configured ({setting})")
        secret = key.get_secret_value()
        credential = ("x-api-key", secret) if provider == "anthropic" else (
            "authorization", f"Bearer {secret}")  # fmt: skip
    return Caller(identity.user, request_tags(request, services, "proxy"), credential)
