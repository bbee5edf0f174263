"""Anthropic Messages bodies: cache breakpoints and system messages moved out of the core's
way and put back.

Claude Code moves its last `cache_control` breakpoint every turn. Left in place, the message
that lost it would hash differently and its replay would miss, so breakpoints are removed
before the core sees the messages and restored on its output at the same positions. A request
never carries more than the API's 4 breakpoints.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from adapters.proxy.dialect import header_session
from adapters.proxy.upstream import Provider
from core.messages import Message
from core.replay import wire

MAX_BREAKPOINTS = 4
Path = tuple[int, ...]


class AnthropicMessages:
    route = "messages"
    provider: Provider = "anthropic"
    items_key = "messages"
    tool_provider = "anthropic"
    loops = True

    def __init__(self, route: str = "messages") -> None:
        self.route = route

    def to_core(self, body: dict[str, Any]) -> tuple[list[Message], Any] | None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return None
        stripped, breakpoints = strip_breakpoints(messages)
        conversation = [m for m in stripped if not _is_system(m)]
        if not conversation:
            return None
        return conversation, (stripped, breakpoints)

    def from_core(self, body: dict[str, Any], messages_json: list[str], state: Any) -> list[str]:
        """System messages go back where they were, as sent; then the breakpoints."""
        stripped, breakpoints = state
        compressed = iter(messages_json)
        full = [wire(m) if _is_system(m) else next(compressed) for m in stripped]
        budget = MAX_BREAKPOINTS - _outside_breakpoints(body)
        return restore_breakpoints(full, breakpoints, max(0, budget))

    def session_id(self, headers: Mapping[str, str], body: dict[str, Any]) -> str | None:
        return header_session(headers)


def strip_breakpoints(messages: list[Any]) -> tuple[list[Any], list[tuple[int, Path, Any]]]:
    """Copies without `cache_control` on content blocks (and blocks nested in tool results),
    and where each one was: (message index, block path, value)."""
    found: list[tuple[int, Path, Any]] = []
    out = []
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list) or not _has_breakpoint(content):
            out.append(message)
            continue
        message = copy.deepcopy(message)
        for j, block in enumerate(message["content"]):
            if not isinstance(block, dict):
                continue
            if "cache_control" in block:
                found.append((i, (j,), block.pop("cache_control")))
            inner = block.get("content")
            if isinstance(inner, list):
                for k, part in enumerate(inner):
                    if isinstance(part, dict) and "cache_control" in part:
                        found.append((i, (j, k), part.pop("cache_control")))
        out.append(message)
    return out, found


def restore_breakpoints(
    messages_json: list[str], breakpoints: list[tuple[int, Path, Any]], budget: int
) -> list[str]:
    """Put the caller's breakpoints back, keeping the last `budget` of them (the latest
    breakpoints are the ones that extend the cached prefix)."""
    kept = breakpoints[len(breakpoints) - budget :] if budget else []
    by_message: dict[int, list[tuple[Path, Any]]] = {}
    for index, path, value in kept:
        by_message.setdefault(index, []).append((path, value))
    out = list(messages_json)
    for index, marks in by_message.items():
        message = json.loads(out[index])
        for path, value in marks:
            node: Any = message.get("content")
            try:
                node = node[path[0]]
                if len(path) == 2:
                    node = node["content"][path[1]]
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(node, dict):
                node["cache_control"] = value
        out[index] = wire(message)
    return out


def _is_system(message: Any) -> bool:
    """`role: "system"` inside `messages` (Claude Code sends such reminders): never rewritten,
    so kept out of the core and of the replay chain, where one that comes and goes would
    change every later message's key."""
    return isinstance(message, dict) and message.get("role") == "system"


def _has_breakpoint(content: list[Any]) -> bool:
    for block in content:
        if isinstance(block, dict):
            if "cache_control" in block:
                return True
            inner = block.get("content")
            if isinstance(inner, list) and any(
                isinstance(p, dict) and "cache_control" in p for p in inner
            ):
                return True
    return False


def _outside_breakpoints(body: dict[str, Any]) -> int:
    """Breakpoints in `system` and `tools`, which the proxy never rewrites."""
    count = 0
    for key in ("system", "tools"):
        value = body.get(key)
        if isinstance(value, list):
            count += sum(1 for b in value if isinstance(b, dict) and "cache_control" in b)
    return count
