"""Cache-cold compaction: rewrite stale history only when the provider's cache is gone anyway.

While a session's prompt cache is warm, every byte already sent must come back unchanged, so
stale file Reads (the file was edited or read again later) and superseded outputs (the same
call was run again later) stay as they were. Once no request has reached the session for
longer than the cache lifetime (5 minutes, or 1 hour when the caller marks `cache_control`
with `ttl: "1h"`), the next request pays full price for its whole history whatever we send,
so that turn may replace those blocks with a one-line note (plus a CCR marker and a stored
original in ccr mode). Replay then records the new bytes, and later turns are stable again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.messages import Message

ONE_HOUR = 3600
READ_TOOLS = frozenset({"Read", "read_file", "view", "NotebookRead"})
EDIT_TOOLS = frozenset(
    {"Edit", "MultiEdit", "Write", "NotebookEdit", "str_replace_based_edit_tool", "write_file",
     "edit_file"}
)  # fmt: skip
_PATH_ARGS = ("file_path", "path", "notebook_path", "filename")


@dataclass(frozen=True)
class Stale:
    """A tool result that later history made stale, and the note that may replace it."""

    message_index: int
    call_id: str
    label: str
    note: str


@dataclass(frozen=True)
class LastSeen:
    """When the session was last sent upstream, and the cache lifetime that request asked for."""

    at: float
    lifetime: int

    def encode(self) -> bytes:
        return json.dumps([self.at, self.lifetime]).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> LastSeen | None:
        if not raw:
            return None
        try:
            at, lifetime = json.loads(raw)
            return cls(float(at), int(lifetime))
        except (TypeError, ValueError):
            return None

    def cold_at(self, now: float) -> bool:
        return now - self.at > self.lifetime


def cache_lifetime(messages: list[Message], default_seconds: int) -> int:
    """One hour when any block asks for `cache_control: {"ttl": "1h"}`, else the default."""
    for message in messages:
        parts = message.get("content")
        for node in [message, *(parts if isinstance(parts, list) else [])]:
            control = node.get("cache_control") if isinstance(node, dict) else None
            if isinstance(control, dict) and control.get("ttl") == "1h":
                return ONE_HOUR
    return default_seconds


def anchor_index(messages: list[Message]) -> int:
    """The message that names a conversation: its first user message (system prompts are
    shared by many conversations)."""
    return next((i for i, m in enumerate(messages) if m.get("role") == "user"), 0)


def stale_results(messages: list[Message]) -> list[Stale]:
    """Results made stale by later calls: Reads of files edited or read again since, and
    outputs of a call repeated later with the same tool and arguments."""
    calls = _calls(messages)
    found = []
    for n, (index, call_id, name, args) in enumerate(calls):
        later = calls[n + 1 :]
        if _is_read(name, args) and (path := _path(args)) is not None:
            edits = [c for c in later if _is_edit(c[2], c[3]) and _path(c[3]) == path]
            reads = [c for c in later if _is_read(c[2], c[3]) and _path(c[3]) == path]
            if edits or reads:
                why = "edited" if edits else "read again"
                note = (f"[headroom: an earlier Read of {path} was omitted here: the file was "
                        f"{why} later in this conversation; see the later call]")  # fmt: skip
                found.append(Stale(index, call_id, "compact:stale_read", note))
        elif not _is_edit(name, args) and any(c[2] == name and c[3] == args for c in later):
            note = (
                f"[headroom: the output of an earlier {name} call was omitted here: the "
                "same call with the same arguments was run again later; see its output]"
            )
            found.append(Stale(index, call_id, "compact:superseded", note))
    return found


def call_id_of(message: Message, path: tuple[str | int, ...]) -> str | None:
    """The id of the tool call whose result the block at `path` belongs to."""
    if message.get("role") == "tool":
        return str(message.get("tool_call_id", ""))
    if len(path) >= 3 and isinstance(path[1], int):
        part = message["content"][path[1]]
        return str(part.get("tool_use_id", "")) if isinstance(part, dict) else None
    return None


def _is_read(name: str, args: Any) -> bool:
    return name in READ_TOOLS or (name == "str_replace_based_edit_tool" and _viewing(args))


def _is_edit(name: str, args: Any) -> bool:
    return name in EDIT_TOOLS and not _viewing(args)


def _viewing(args: Any) -> bool:
    return isinstance(args, dict) and args.get("command") == "view"


def _calls(messages: list[Message]) -> list[tuple[int, str, str, Any]]:
    """(index of the message holding the result, call id, tool name, arguments) in order."""
    result_at: dict[str, int] = {}
    for i, message in enumerate(messages):
        if message.get("role") == "tool" and isinstance(message.get("tool_call_id"), str):
            result_at[message["tool_call_id"]] = i
        content = message.get("content")
        for part in content if isinstance(content, list) else ():
            if part.get("type") == "tool_result" and isinstance(part.get("tool_use_id"), str):
                result_at[part["tool_use_id"]] = i
    calls = []
    for message in messages:
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and call.get("id") in result_at:
                calls.append((result_at[call["id"]], call["id"], str(function.get("name")),
                               _arguments(function.get("arguments"))))  # fmt: skip
        content = message.get("content")
        for part in content if isinstance(content, list) else ():
            if part.get("type") == "tool_use" and part.get("id") in result_at:
                calls.append((result_at[part["id"]], part["id"], str(part.get("name")),
                              part.get("input")))  # fmt: skip
    return calls


def _arguments(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return raw


def _path(args: Any) -> str | None:
    if isinstance(args, dict):
        for key in _PATH_ARGS:
            if isinstance(args.get(key), str):
                return str(args[key])
    return None
