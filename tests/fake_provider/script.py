"""What the fake model says: scripted replies, provider errors, and the request seen as a chat.

The fake decides each answer from a provider-neutral view of the request (`Exchange`), so one
script drives Anthropic Messages, OpenAI Chat Completions and OpenAI Responses alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["anthropic", "chat", "responses"]
RETRIEVE_TOOL = "headroom_retrieve"
MARKER = re.compile(r"Retrieve original: hash=([0-9a-f]{24})\b")


@dataclass(frozen=True)
class ToolCall:
    """A tool the model calls; `id` is generated in the provider's format when omitted."""

    name: str
    input: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One assistant turn: text first, then tool calls (the order the real models use).

    `ttft` / `chunk_delay` override the provider's delays for this reply only (seconds).
    Streamed faults, after `fault_after` events: `stream_error` sends the provider's error
    event and ends the stream (Anthropic's mid-stream `overloaded_error`); `cut` drops the
    connection without ending the chunked body (a provider or network failure).
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    ttft: float | None = None
    chunk_delay: float | None = None
    fault_after: int = 3
    stream_error: ErrorReply | None = None
    cut: bool = False

    @classmethod
    def say(cls, text: str) -> Reply:
        return cls(text=text)

    @classmethod
    def call(cls, name: str, arguments: dict[str, Any], text: str = "") -> Reply:
        return cls(text=text, tool_calls=(ToolCall(name, arguments),))


# status -> (anthropic error type, openai error type, openai code)
_ERROR_KINDS: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "invalid_request_error", None),
    401: ("authentication_error", "invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "invalid_request_error", None),
    404: ("not_found_error", "invalid_request_error", None),
    413: ("request_too_large", "invalid_request_error", None),
    429: ("rate_limit_error", "requests", "rate_limit_exceeded"),
    500: ("api_error", "server_error", None),
    503: ("overloaded_error", "server_error", None),
    529: ("overloaded_error", "server_error", None),
}


@dataclass(frozen=True)
class ErrorReply:
    """A provider error, rendered in the shape of the route it answers, with its headers."""

    status: int
    message: str
    retry_after: int | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def bad_request(cls, message: str = "messages: field required") -> ErrorReply:
        return cls(400, message)

    @classmethod
    def unauthorized(cls, message: str = "invalid x-api-key") -> ErrorReply:
        return cls(401, message)

    @classmethod
    def rate_limited(cls, retry_after: int = 7) -> ErrorReply:
        return cls(429, "Number of request tokens has exceeded your rate limit.", retry_after)

    @classmethod
    def overloaded(cls) -> ErrorReply:
        return cls(529, "Overloaded")

    def anthropic_body(self, request_id: str) -> dict[str, Any]:
        kind = _ERROR_KINDS.get(self.status, ("api_error", "", None))[0]
        return {"type": "error", "error": {"type": kind, "message": self.message},
                "request_id": request_id}  # fmt: skip

    def openai_body(self) -> dict[str, Any]:
        _, kind, code = _ERROR_KINDS.get(self.status, ("", "server_error", None))
        return {"error": {"message": self.message, "type": kind, "param": None, "code": code}}

    def stream_event(self, api: Api, sequence_number: int) -> tuple[str | None, dict[str, Any]]:
        """The error as an event inside a 200 stream, in the route's shape."""
        if api == "anthropic":
            return "error", {k: v for k, v in self.anthropic_body("").items() if k != "request_id"}
        if api == "chat":
            return None, self.openai_body()
        error = self.openai_body()["error"]
        return "error", {"type": "error", "code": error["code"] or error["type"],
                         "message": self.message, "param": None,
                         "sequence_number": sequence_number}  # fmt: skip

    def anthropic_headers(self) -> list[tuple[str, str]]:
        headers = list(self.headers)
        if self.retry_after is not None:
            headers.append(("retry-after", str(self.retry_after)))
            for bucket in ("requests", "tokens", "input-tokens", "output-tokens"):
                prefix = f"anthropic-ratelimit-{bucket}"
                headers += [(f"{prefix}-limit", "50"), (f"{prefix}-remaining", "0"),
                            (f"{prefix}-reset", "2026-01-01T00:00:07Z")]  # fmt: skip
        if self.status in (429, 529, 500):
            headers.append(("x-should-retry", "true"))
        return headers

    def openai_headers(self) -> list[tuple[str, str]]:
        headers = list(self.headers)
        if self.retry_after is not None:
            headers.append(("retry-after", str(self.retry_after)))
            for bucket in ("requests", "tokens"):
                headers += [(f"x-ratelimit-limit-{bucket}", "500"),
                            (f"x-ratelimit-remaining-{bucket}", "0"),
                            (f"x-ratelimit-reset-{bucket}", f"{self.retry_after}s")]  # fmt: skip
        return headers


@dataclass
class Exchange:
    """The request as a conversation, whatever the wire format.

    `texts`: every text in the conversation (message text and tool results), in order.
    `calls`: the tool calls the assistant already made, with their results once given.
    """

    api: Api
    body: dict[str, Any]
    tool_names: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)
    ends_with_tool_result: bool = False

    @property
    def last_user_text(self) -> str:
        return self.texts[-1] if self.texts else ""

    def result_of(self, call: ToolCall) -> str | None:
        return self.results.get(call.id or "")


Model = Callable[[Exchange], "Reply | ErrorReply | None"]


def retrieve_model(exchange: Exchange) -> Reply | None:
    """Call `headroom_retrieve` for each marker not yet retrieved, then say what came back.

    Acts only when the tool is declared; otherwise (or with nothing to retrieve) returns None
    so the next model in the chain answers.
    """
    if RETRIEVE_TOOL not in exchange.tool_names:
        return None
    asked = [c for c in exchange.calls if c.name == RETRIEVE_TOOL]
    asked_hashes = {str(c.input.get("hash")) for c in asked}
    for text in exchange.texts:
        for found in MARKER.findall(text):
            if found not in asked_hashes:
                return Reply.call(RETRIEVE_TOOL, {"hash": found})
    if asked and exchange.ends_with_tool_result:
        parts = [f"{c.input.get('hash')}={len(exchange.result_of(c) or '')} chars" for c in asked]
        return Reply.say("Retrieved " + ", ".join(parts) + ".")
    return None


def exchange_of(api: Api, body: dict[str, Any]) -> Exchange:
    parse = {"anthropic": _anthropic, "chat": _chat, "responses": _responses}[api]
    exchange = Exchange(api=api, body=body)
    parse(exchange, body)
    return exchange


def _text_of(content: Any) -> str:
    """Text of a string, a list of text parts/blocks, or anything else (as JSON)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text_of(p.get("text", "")) if isinstance(p, dict) else str(p)
                         for p in content)  # fmt: skip
    return "" if content is None else json.dumps(content)


def _anthropic(ex: Exchange, body: dict[str, Any]) -> None:
    ex.tool_names = [str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)]
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        ex.ends_with_tool_result = False
        for block in blocks:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                ex.texts.append(_text_of(block.get("text")))
            elif kind == "tool_use":
                ex.calls.append(ToolCall(block["name"], block.get("input") or {}, block["id"]))
            elif kind == "tool_result":
                result = _text_of(block.get("content"))
                ex.results[block.get("tool_use_id", "")] = result
                ex.texts.append(result)
                ex.ends_with_tool_result = True


def _chat(ex: Exchange, body: dict[str, Any]) -> None:
    ex.tool_names = [str(t.get("function", {}).get("name")) for t in body.get("tools") or []]
    for message in body.get("messages") or []:
        ex.ends_with_tool_result = message.get("role") == "tool"
        text = _text_of(message.get("content"))
        if ex.ends_with_tool_result:
            ex.results[message.get("tool_call_id", "")] = text
        if text:
            ex.texts.append(text)
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            ex.calls.append(ToolCall(function.get("name", ""), _arguments(function), call["id"]))


def _responses(ex: Exchange, body: dict[str, Any]) -> None:
    ex.tool_names = [str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)]
    items = body.get("input")
    for item in [{"role": "user", "content": items}] if isinstance(items, str) else items or []:
        kind = item.get("type", "message")
        ex.ends_with_tool_result = kind == "function_call_output"
        if kind == "message":
            ex.texts.append(_text_of(item.get("content")))
        elif kind == "function_call":
            ex.calls.append(ToolCall(item.get("name", ""), _arguments(item), item["call_id"]))
        elif kind == "function_call_output":
            output = _text_of(item.get("output"))
            ex.results[item.get("call_id", "")] = output
            ex.texts.append(output)


def _arguments(holder: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = json.loads(holder.get("arguments") or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
