"""Who is calling through the proxy, and which provider credential goes upstream.

With accounting on, a gateway key (`hgw_...`) in `x-api-key` or `Authorization` is a managed
caller: the organisation's provider key (HEADROOM_ANTHROPIC_API_KEY / _OPENAI_API_KEY, from a
secret) replaces it upstream. Any other credential is the caller's own key and passes through
untouched; the caller is known by its keyed fingerprint (or by a trusted identity header).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fastapi import Request

from adapters.bootstrap import Services
from adapters.http.api import tenant_of
from adapters.http.errors import HttpError
from adapters.identity.resolve import Unauthenticated
from adapters.proxy.upstream import Provider

_CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})


@dataclass(frozen=True)
class Caller:
    tenant: str
    team: str = ""
    project: str = ""
    key_id: str = ""
    #: The header that replaces the caller's credential upstream (managed callers only).
    credential: tuple[str, str] | None = None

    def upstream(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """`headers` with the organisation's credential in place of the caller's, if managed."""
        if self.credential is None:
            return headers
        kept = [(n, v) for n, v in headers if n.lower() not in _CREDENTIAL_HEADERS]
        return [*kept, self.credential]


def identify_caller(services: Services, request: Request, provider: Provider) -> Caller:
    """The caller of a proxied request; HttpError 401 when keys are required and it has none."""
    settings = services.settings
    if services.accounting is None:
        return Caller(tenant_of(request, settings.identity_headers))
    peer = request.client.host if request.client else None
    try:
        who = services.accounting.resolver.resolve_proxy(request.headers, peer)
    except Unauthenticated as refused:
        raise HttpError(401, str(refused)) from None
    identity = who.identity
    if not identity.team and services.accounting.resolver.trusted_peer(peer):
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
    return Caller(identity.user, identity.team, identity.project, identity.key_id, credential)
