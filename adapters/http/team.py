"""Which team a request belongs to, for the operator's per-team policy."""

from __future__ import annotations

from fastapi import Request

from adapters.bootstrap import Services
from core import org_policy
from core.service import CompressRequest

TEAM_HEADER = "x-headroom-team"
MAX_TEAM_CHARS = 128


def team_of(request: Request) -> str | None:
    """The team of the caller's key when identity resolution named one (a key cannot be
    talked out of its team by a header); otherwise the `x-headroom-team` header."""
    identity = getattr(request.state, "identity", None)
    team = getattr(identity, "team", "") if identity is not None else ""
    if isinstance(team, str) and team:
        return team
    value = request.headers.get(TEAM_HEADER, "").strip()
    return value[:MAX_TEAM_CHARS] or None


def with_policy(services: Services, request: Request, parsed: CompressRequest) -> CompressRequest:
    """The parsed request as the operator's policy for its team says it must run."""
    if services.policy is None:
        return parsed
    return org_policy.apply(services.policy.policy, team_of(request), parsed)
