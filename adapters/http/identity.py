"""The HTTP side of identity: resolve the caller once per request, derive its tags.

The dependency stores the Identity and the RequestTags on `request.state`; handlers pass
the tags into the core (CompressRequest.tags), which hands them back on its RequestReport,
so the ledger row carries them with no context variable and no second lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from adapters.bootstrap import Services
from adapters.http.errors import HttpError
from adapters.http.team import team_of
from adapters.identity.resolve import Identity, Unauthenticated
from core.tags import RequestTags, bounded, bounded_id, client_from_user_agent, extra_tags


def identify(services: Services) -> Callable[[Request], Awaitable[None]]:
    """A dependency for /v1/*: 401 for a caller who may not call, else who it is."""
    accounting = services.accounting

    async def check(request: Request) -> None:
        peer = request.client.host if request.client else None
        try:
            request.state.identity = accounting.resolver.resolve(request.headers, peer)
        except Unauthenticated as refused:
            raise HttpError(401, str(refused)) from None

    return check


def operator_only(services: Services) -> Callable[[Request], Awaitable[None]]:
    """A dependency for the /stats family: the operator's token, never a user's key."""
    accounting = services.accounting

    async def check(request: Request) -> None:
        peer = request.client.host if request.client else None
        if not accounting.resolver.may_read_stats(request.headers, peer):
            raise HttpError(401, "the operator's token is required")

    return check


def request_tags(request: Request, services: Services, route: str) -> RequestTags:
    identity: Identity = getattr(request.state, "identity", None) or Identity()
    settings = services.settings
    return RequestTags(
        user=bounded_id(identity.user),
        team=bounded(team_of(request)),  # the key's team, or a trusted caller's header
        project=identity.project,
        cluster=settings.cluster_id,
        instance=services.accounting.instance,
        client=client_from_user_agent(request.headers.get("user-agent")),
        route=route,
        key_id=identity.key_id,
        extra=extra_tags(request.headers.items(), settings.tag_allowlist),
    )


def tenant_of(request: Request) -> str:
    """The caller's user names the tenant that scopes its state (a key's user, or a trusted
    identity header), as identity resolution found it."""
    identity: Identity = getattr(request.state, "identity", None) or Identity()
    return identity.user
