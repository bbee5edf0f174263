"""Request tags for accounting: who called, with what client, on which route.

Pure functions over header values, so the HTTP layer, the proxy and tests share one
definition. Every value is bounded in length and the client name comes from a fixed set, so
tags can become ledger columns and rollup keys without unbounded cardinality.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_TAG_CHARS = 128
MAX_EXTRA_TAG_CHARS = 64
MAX_EXTRA_TAGS = 8
EXTRA_TAG_PREFIX = "x-headroom-tag-"

#: User-Agent fragment (lower case) -> client name; first match wins, so specific before generic.
_CLIENTS: tuple[tuple[str, str], ...] = (
    ("claude-cli", "claude-cli"),
    ("claude-code", "claude-cli"),
    ("codex", "codex"),
    ("litellm", "litellm"),
    ("cursor", "cursor"),
    ("kong", "kong"),
    ("portkey", "portkey"),
    ("envoy", "envoy"),
    ("anthropic/python", "anthropic-python"),
    ("anthropic/js", "anthropic-js"),
    ("openai/python", "openai-python"),
    ("openai/js", "openai-js"),
    ("curl/", "curl"),
    ("python-httpx", "httpx"),
    ("python-requests", "requests"),
    ("python-urllib", "urllib"),
    ("go-http-client", "go"),
    ("node", "node"),
)
CLIENTS = frozenset(name for _, name in _CLIENTS) | {"other", "unknown"}


def client_from_user_agent(user_agent: str | None) -> str:
    """A bounded client name from the User-Agent (`unknown` without one, `other` if new)."""
    if not user_agent:
        return "unknown"
    lowered = user_agent.lower()
    for fragment, name in _CLIENTS:
        if fragment in lowered:
            return name
    return "other"


def printable(value: str | None) -> str:
    """`value` stripped, control characters dropped: safe in a log line, a label or a key."""
    return "".join(c for c in (value or "").strip() if c.isprintable())


def bounded(value: str | None, limit: int = MAX_TAG_CHARS) -> str:
    """A tag value made printable and cut to `limit` characters."""
    return printable(value)[:limit]


def bounded_id(value: str | None, limit: int = MAX_TAG_CHARS) -> str:
    """An identity as a tag: whole when short; else cut, with a digest of the whole value so
    two long ids that share a prefix never become one tag."""
    whole = printable(value)
    if len(whole) <= limit:
        return whole
    digest = hashlib.sha256(whole.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{whole[: limit - 17]}~{digest}"


def extra_tags(
    headers: Iterable[tuple[str, str]],
    allowed: Iterable[str],
    *,
    max_count: int = MAX_EXTRA_TAGS,
    max_chars: int = MAX_EXTRA_TAG_CHARS,
) -> dict[str, str]:
    """`x-headroom-tag-<key>` headers whose key the operator allowed; others are ignored.

    Keys are compared lower case; at most `max_count` tags, values cut to `max_chars`."""
    allow = {key.lower() for key in allowed}
    tags: dict[str, str] = {}
    if not allow:
        return tags
    for name, value in headers:
        lowered = name.lower()
        if not lowered.startswith(EXTRA_TAG_PREFIX):
            continue
        key = lowered[len(EXTRA_TAG_PREFIX) :]
        if key in allow and key not in tags and len(tags) < max_count:
            tags[key] = bounded(value, max_chars)
    return tags


@dataclass(frozen=True)
class RequestTags:
    """Everything the ledger records about who and how, fixed before the core runs."""

    user: str = "anonymous"
    team: str = ""
    project: str = ""
    cluster: str = "default"
    instance: str = ""
    client: str = "unknown"
    route: str = "compress"
    key_id: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str]:
        """The seed gateway's `tags` object (`user-id`) plus ours."""
        tags = {
            "user-id": self.user,
            "team": self.team,
            "project": self.project,
            "cluster": self.cluster,
            "instance": self.instance,
            "client": self.client,
            "route": self.route,
        }
        tags.update(self.extra)
        return {k: v for k, v in tags.items() if v}
