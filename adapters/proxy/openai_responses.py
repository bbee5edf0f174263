"""OpenAI Responses bodies (Codex): `input` items mapped one to one onto chat messages.

Only tool output text can change. Each item becomes one message the core knows (`message` ->
its role, `function_call` / `custom_tool_call` -> an assistant tool call, their outputs ->
a tool message, anything else -> an opaque assistant message that is never rewritten), and
the core's output is mapped back onto the original item, so replayed items are stable.

A string `input` is one user message: nothing to compress, so such a request goes out as
sent (no retrieve tool, no loop).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.proxy.dialect import header_session
from adapters.proxy.openai_chat import prompt_cache_key
from adapters.proxy.upstream import Provider
from core.messages import Message
from core.replay import wire

_ROLES = frozenset({"system", "developer", "user", "assistant"})
#: Tool calls and their outputs (Codex's `apply_patch` is a custom tool).
_CALLS = frozenset({"function_call", "custom_tool_call"})
_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})


class OpenAIResponses:
    route = "responses"
    provider: Provider = "openai"
    items_key = "input"
    tool_provider = "openai_responses"
    loops = True

    def to_core(self, body: dict[str, Any]) -> tuple[list[Message], Any] | None:
        items = body.get("input")
        if not isinstance(items, list) or not items:
            return None  # a string input is one user message: nothing to compress
        if not all(isinstance(item, dict) for item in items):
            return None
        return [_as_message(item) for item in items], items

    def from_core(self, body: dict[str, Any], messages_json: list[str], state: Any) -> list[str]:
        out = []
        for item, text in zip(state, messages_json, strict=True):
            if item.get("type") in _OUTPUTS and isinstance(item.get("output"), str):
                content = json.loads(text).get("content")
                if isinstance(content, str) and content != item["output"]:
                    item = {**item, "output": content}
            out.append(wire(item))
        return out

    def session_id(self, headers: Mapping[str, str], body: dict[str, Any]) -> str | None:
        return header_session(headers) or prompt_cache_key(body)


def _as_message(item: dict[str, Any]) -> Message:
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message" and item.get("role") in _ROLES:
        return {"role": item["role"], "content": _content(item.get("content"))}
    if kind in _CALLS:
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": str(item.get("call_id", "")),
                    "type": "function",
                    "function": {
                        "name": str(item.get("name", "")),
                        "arguments": str(item.get("arguments", item.get("input", ""))),
                    },
                }
            ],
        }
    if kind in _OUTPUTS and isinstance(item.get("output"), str):
        return {
            "role": "tool",
            "tool_call_id": str(item.get("call_id", "")),
            "content": item["output"],
        }
    return {"role": "assistant", "content": None, "item": item}


def _content(content: Any) -> Any:
    """Message content the core accepts: a string, or parts it does not rewrite."""
    if isinstance(content, str) or content is None:
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return content
    return None
