"""A `headroom_retrieve` call as the retrieve loop answers it, in any provider's format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One `headroom_retrieve` call the proxy answers."""

    id: str
    hash: str
    query: str | None


def call_of(call_id: str, arguments: Any) -> Call:
    args = arguments if isinstance(arguments, dict) else {}
    key, query = args.get("hash"), args.get("query")
    return Call(
        call_id, key if isinstance(key, str) else "", query if isinstance(query, str) else None
    )
