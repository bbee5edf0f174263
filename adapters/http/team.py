"""Which team a request belongs to, for the operator's per-team policy."""

from __future__ import annotations

from fastapi import Request

from adapters.bootstrap import Services
from core import org_policy
from core.service import CompressRequest

TEAM_HEADER = "x-headroom-team"
MAX_TEAM_CHARS = 128


#: Identity sources whose headers the gateway trusts (the operator's token, a trusted peer).
TRUSTED_SOURCES = frozenset({"operator", "header"})


def team_of(request: Request) -> str | None:
    """The team of the caller's key when identity resolution named one: a key holder cannot
    pick another team's policy with a header. The `x-headroom-team` header counts only for
    trusted callers (the operator's own gateway, a trusted peer), or when no identity
    resolution runs (every caller then holds the gateway token or is on loopback)."""
    identity = getattr(request.state, "identity", None)
    if identity is not None:
        team = getattr(identity, "team", "")
        if isinstance(team, str) and team:
            return team
        if getattr(identity, "source", "") not in TRUSTED_SOURCES:
            return None
    value = request.headers.get(TEAM_HEADER, "").strip()
    return value[:MAX_TEAM_CHARS] or None


def with_policy(services: Services, request: Request, parsed: CompressRequest) -> CompressRequest:
    """The parsed request as the operator's policy for its team says it must run."""
    return org_policy.apply(services.policy.policy, team_of(request), parsed)
