"""Which headers cross the proxy, in each direction.

The caller's own credentials and provider headers go upstream (x-api-key, Authorization,
anthropic-*, OpenAI-*, user-agent, ...). Hop-by-hop headers (RFC 9110 7.6.1), the gateway's
own `x-headroom-*` headers (its token among them) and framing headers that httpx recomputes
do not.
"""

from __future__ import annotations

from collections.abc import Iterable

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
#: Recomputed for the body actually sent (it may be compressed, so its length changes).
_FRAMING = frozenset({"host", "content-length"})


def upstream_headers(
    incoming: Iterable[tuple[str, str]], identity_encoding: bool = False
) -> list[tuple[str, str]]:
    """The request headers to send upstream. `identity_encoding` asks for an uncompressed
    response, for the routes whose responses the proxy reads (usage, the retrieve loop)."""
    connection_named = set()
    pairs = list(incoming)
    for name, value in pairs:
        if name.lower() == "connection":
            connection_named |= {token.strip().lower() for token in value.split(",")}
    kept = []
    for name, value in pairs:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in _FRAMING or lower in connection_named:
            continue
        if lower.startswith("x-headroom-"):
            continue
        if identity_encoding and lower == "accept-encoding":
            continue
        kept.append((name, value))
    if identity_encoding:
        kept.append(("accept-encoding", "identity"))
    return kept


def downstream_headers(incoming: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The provider's response headers for the client (retry-after, request ids, rate-limit
    headers, content-type), minus hop-by-hop and the length, which the server recomputes."""
    kept: dict[str, str] = {}
    for name, value in incoming:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower == "content-length":
            continue
        kept[lower] = value
    return kept
