"""A simulated provider prompt cache: the common prefix with the session's last prompt is a hit.

Tokens are estimated as 4 bytes each. The prompt is serialised in the order the providers
cache it (tools, system, messages), keeping each object's key order, so any byte the gateway
changes in an earlier message shows up as a lost cache read.

Anthropic caches only at `cache_control` breakpoints (nothing without one) and reports the
uncached rest up to the last breakpoint as cache creation; OpenAI caches any common prefix.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from tests.fake_provider.script import Api

BYTES_PER_TOKEN = 4
_BREAKPOINT = b'"cache_control"'


def tokens(size: int) -> int:
    return (size + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def prompt_bytes(api: Api, body: dict[str, Any]) -> bytes:
    if api == "anthropic":
        parts = [body.get("tools"), body.get("system"), body.get("messages")]
    elif api == "chat":
        parts = [body.get("tools"), body.get("messages")]
    else:
        parts = [body.get("tools"), body.get("instructions"), body.get("input")]
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()


def common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix, comparing 4 KiB blocks first (prompts run to ~1 MB)."""
    limit, at, block = min(len(a), len(b)), 0, 4096
    while at + block <= limit and a[at : at + block] == b[at : at + block]:
        at += block
    while at < limit and a[at] == b[at]:
        at += 1
    return at


@dataclass(frozen=True)
class CacheUsage:
    """Input tokens split the way the provider reports them (Anthropic: disjoint parts)."""

    input_tokens: int
    cache_read: int
    cache_write: int

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_read + self.cache_write


class PrefixCache:
    """The last prompt per session key; thread-safe (the server answers on many threads).

    Anthropic: a hit is the longest prefix that ended at one of the last request's
    breakpoints and is unchanged now, so one changed byte before a breakpoint loses all of it.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[bytes, list[int]]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._last.clear()

    def use(self, session: str, api: Api, prompt: bytes) -> CacheUsage:
        ends = _breakpoints(prompt) if api == "anthropic" else [len(prompt)]
        with self._lock:
            previous, previous_ends = self._last.get(session, (b"", []))
            if ends:
                self._last[session] = (prompt[: ends[-1]], ends)
        same = common_prefix(previous, prompt)
        total = tokens(len(prompt))
        if api != "anthropic":
            read = tokens(same) if same else 0
            return CacheUsage(total - read, read, 0)
        read = tokens(max((end for end in previous_ends if end <= same), default=0))
        write = max(tokens(ends[-1]) - read, 0) if ends else 0
        return CacheUsage(max(total - read - write, 0), read, write)


def _breakpoints(prompt: bytes) -> list[int]:
    """Offsets where a block marked `cache_control` ends (approximated by the key itself)."""
    ends, at = [], prompt.find(_BREAKPOINT)
    while at >= 0:
        ends.append(at)
        at = prompt.find(_BREAKPOINT, at + 1)
    return ends
