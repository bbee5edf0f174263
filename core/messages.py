"""Reading and rewriting chat messages in either wire format, without changing their shape.

The gateway only ever replaces the text of a tool output (or, when asked, a user text
block). Everything else in a message (roles, ids, tool_use / tool_result pairing, images,
unknown keys) is carried over untouched, so a rewritten conversation is always one the
provider accepts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import InvalidRequest

Format = Literal["openai", "anthropic"]
Message = dict[str, Any]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


@dataclass(frozen=True)
class Block:
    """One piece of text the policy may compress, and where it lives in its message.

    `path` is the key path from the message to the string, e.g. ("content",) or
    ("content", 2, "content", 0, "text"), so the rewrite touches exactly that string.
    """

    message_index: int
    path: tuple[str | int, ...]
    text: str
    role: str
    kind: Literal["tool_result", "text"]
    tool_name: str | None = None
    is_error: bool = False


def validate(messages: Any) -> list[Message]:
    """Reject shapes no provider accepts, with a message a caller can act on."""
    if not isinstance(messages, list):
        raise InvalidRequest("'messages' must be an array of message objects")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages[{i}] must be an object")
        role = message.get("role")
        if not isinstance(role, str) or role not in _ROLES:
            raise InvalidRequest(
                f"messages[{i}].role must be one of {sorted(_ROLES)}, got {role!r}"
            )
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise InvalidRequest(f"messages[{i}].content must be a string, an array or null")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict):
                    raise InvalidRequest(f"messages[{i}].content[{j}] must be an object")
        calls = message.get("tool_calls")
        if calls is not None and not (
            isinstance(calls, list) and all(isinstance(c, dict) for c in calls)
        ):
            raise InvalidRequest(f"messages[{i}].tool_calls must be an array of objects or null")
    return messages


def detect_format(messages: list[Message]) -> Format:
    """Anthropic if any message uses tool_use / tool_result blocks, else OpenAI."""
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") in ("tool_use", "tool_result"):
                    return "anthropic"
        if message.get("role") == "tool" or "tool_calls" in message:
            return "openai"
    return "openai"


def tool_names_by_call_id(messages: list[Message]) -> dict[str, str]:
    """Map each tool call id to the tool's name, so a result knows which tool produced it."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                function = call.get("function")
                if isinstance(function, dict) and isinstance(function.get("name"), str):
                    names[call["id"]] = function["name"]
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "tool_use" and isinstance(part.get("id"), str):
                    names[part["id"]] = str(part.get("name", ""))
    return names


def blocks_of(index: int, message: Message, tool_names: dict[str, str]) -> list[Block]:
    """The text blocks of one message, labelled with role, tool name and error flag."""
    role = message["role"]
    content = message.get("content")
    if role == "tool":
        tool = tool_names.get(str(message.get("tool_call_id", "")))
        return list(_text_blocks(index, ("content",), content, role, "tool_result", tool, False))
    if not isinstance(content, list):
        if isinstance(content, str):
            return [Block(index, ("content",), content, role, "text")]
        return []
    found: list[Block] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "tool_result":
            tool = tool_names.get(str(part.get("tool_use_id", "")))
            found += _text_blocks(
                index,
                ("content", j, "content"),
                part.get("content"),
                role,
                "tool_result",
                tool,
                part.get("is_error") is True,
            )
        elif kind == "text" and isinstance(part.get("text"), str):
            found.append(Block(index, ("content", j, "text"), part["text"], role, "text"))
    return found


def _text_blocks(
    index: int,
    path: tuple[str | int, ...],
    content: Any,
    role: str,
    kind: Literal["tool_result", "text"],
    tool: str | None,
    is_error: bool,
) -> list[Block]:
    if isinstance(content, str):
        return [Block(index, path, content, role, kind, tool, is_error)]
    blocks = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") == "text":
                text = part.get("text")
                if isinstance(text, str):
                    blocks.append(
                        Block(index, (*path, j, "text"), text, role, kind, tool, is_error)
                    )
    return blocks


def with_replacements(message: Message, replacements: dict[tuple[str | int, ...], str]) -> Message:
    """A copy of `message` with the strings at the given paths replaced; input untouched."""
    if not replacements:
        return message
    rewritten = copy.deepcopy(message)
    for path, text in replacements.items():
        node: Any = rewritten
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = text
    return rewritten
