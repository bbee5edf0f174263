"""What the three provider APIs have in common for the proxy: a body whose conversation is
turned into core messages and back, and serialised with everything else left as sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from adapters.proxy.upstream import Provider
from core.messages import Message
from core.replay import wire


class Dialect(Protocol):
    route: str  # metrics label, e.g. "messages"
    provider: Provider
    items_key: str  # the body key holding the conversation ("messages", "input")
    tool_provider: str  # shape of the retrieve tool (core.ccr.retrieve_tool)
    loops: bool  # whether the proxy runs the retrieve loop for this API

    def to_core(self, body: dict[str, Any]) -> tuple[list[Message], Any] | None:
        """Messages for the core and what from_core needs to rebuild; None: nothing to do."""
        ...

    def from_core(self, body: dict[str, Any], messages_json: list[str], state: Any) -> list[str]:
        """The conversation items to send, each as its JSON text."""
        ...

    def session_id(self, headers: Mapping[str, str], body: dict[str, Any]) -> str | None: ...


def render(body: dict[str, Any], items_key: str, items_json: list[str]) -> bytes:
    """The body with its conversation spliced in verbatim and every other key serialised
    compactly, in the caller's key order: the same input gives the same bytes every turn."""
    parts = []
    for key, value in body.items():
        text = f"[{','.join(items_json)}]" if key == items_key else wire(value)
        parts.append(f"{wire(key)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


def with_tool(body: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
    """A copy with `tool` appended to `tools` (always last, so earlier bytes never move)."""
    tools = body.get("tools")
    copy = dict(body)
    copy["tools"] = [*(tools if isinstance(tools, list) else []), tool]
    return copy


def declares(body: dict[str, Any], name: str) -> bool:
    """Whether the caller's own `tools` already name `name` (in any provider's shape)."""
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict):
            function = tool.get("function")
            named = function.get("name") if isinstance(function, dict) else tool.get("name")
            if named == name:
                return True
    return False


def header_session(headers: Mapping[str, str]) -> str | None:
    value = headers.get("x-headroom-session-id") or headers.get("x-claude-code-session-id")
    return value[:256] if value else None
