"""The retrieve loop for non-streamed responses: rounds merged into one response body.

A response with no retrieve call is returned as the exact bytes the provider sent; only a
turn that looped is re-serialised (content of every round, usage summed, the last stop).
"""

from __future__ import annotations

import json
from typing import Any

from adapters.proxy.calls import Call, call_of
from adapters.proxy.usage import Usage, body_usage, sum_usage
from core.ccr import TOOL_NAME


class AnthropicMerger:
    provider = "anthropic"
    rewrite = False  # True once a retrieve call was seen; else the provider's own bytes

    def __init__(self) -> None:
        self.rounds = 0
        self.usage = Usage()
        self._content: list[Any] = []
        self._usage: dict[str, Any] | None = None
        self._last: dict[str, Any] = {}
        self._calls: list[dict[str, Any]] = []

    def add(self, body: dict[str, Any]) -> list[Call] | None:
        self.rounds += 1
        self._last = body
        self.usage.add(body_usage("anthropic", body))
        if isinstance(body.get("usage"), dict):
            self._usage = sum_usage(self._usage, body["usage"])
        found = body.get("content")
        content: list[Any] = found if isinstance(found, list) else []
        ours = [b for b in content if _is_ours(b)]
        self.rewrite = self.rewrite or bool(ours)
        self._content += [b for b in content if not _is_ours(b)]
        self._round_content = content
        client_tools = any(
            isinstance(b, dict) and b.get("type") == "tool_use" and not _is_ours(b) for b in content
        )
        if body.get("stop_reason") != "tool_use" or not ours or client_tools:
            return None
        return [call_of(str(b.get("id", "")), b.get("input")) for b in ours]

    def continuation(self, answers: dict[str, str]) -> list[dict[str, Any]]:
        results = [
            {"type": "tool_result", "tool_use_id": cid, "content": text}
            for cid, text in answers.items()
        ]
        return [
            {"role": "assistant", "content": self._round_content},
            {"role": "user", "content": results},
        ]

    def result(self) -> bytes:
        body = {**self._last, "content": self._content}
        if self._usage is not None:
            body["usage"] = self._usage
        if body.get("stop_reason") == "tool_use" and not any(
            isinstance(b, dict) and b.get("type") == "tool_use" for b in self._content
        ):
            body["stop_reason"] = "end_turn"
        return json.dumps(body, ensure_ascii=False).encode()


class ChatMerger:
    provider = "openai"
    rewrite = False

    def __init__(self) -> None:
        self.rounds = 0
        self.usage = Usage()
        self._text: list[str] = []
        self._usage: dict[str, Any] | None = None
        self._first: dict[str, Any] = {}
        self._last: dict[str, Any] = {}
        self._message: dict[str, Any] = {}

    def add(self, body: dict[str, Any]) -> list[Call] | None:
        self.rounds += 1
        self._first = self._first or body
        self._last = body
        self.usage.add(body_usage("openai", body))
        if isinstance(body.get("usage"), dict):
            self._usage = sum_usage(self._usage, body["usage"])
        choices = body.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else {}
        message = choice.get("message") if isinstance(choice, dict) else None
        self._message = message if isinstance(message, dict) else {}
        if isinstance(self._message.get("content"), str):
            self._text.append(self._message["content"])
        calls = self._message.get("tool_calls") or []
        ours = [c for c in calls if _function_name(c) == TOOL_NAME]
        self.rewrite = self.rewrite or bool(ours)
        if choice.get("finish_reason") != "tool_calls" or not ours or len(ours) != len(calls):
            return None
        return [call_of(str(c.get("id", "")), _json(c["function"].get("arguments"))) for c in ours]

    def continuation(self, answers: dict[str, str]) -> list[dict[str, Any]]:
        assistant = {
            "role": "assistant",
            "content": self._message.get("content"),
            "tool_calls": self._message.get("tool_calls"),
        }
        return [assistant] + [
            {"role": "tool", "tool_call_id": cid, "content": text} for cid, text in answers.items()
        ]

    def result(self) -> bytes:
        body = dict(self._last)
        body["id"] = self._first.get("id", body.get("id"))
        choices = [dict(c) for c in body.get("choices") or [{}]]
        message = dict(choices[0].get("message") or {"role": "assistant"})
        calls = [c for c in message.get("tool_calls") or [] if _function_name(c) != TOOL_NAME]
        message["content"] = "".join(self._text) or message.get("content")
        if calls:
            message["tool_calls"] = calls
        else:
            message.pop("tool_calls", None)
            if choices[0].get("finish_reason") == "tool_calls":
                choices[0]["finish_reason"] = "stop"
        choices[0]["message"] = message
        body["choices"] = choices
        if self._usage is not None:
            body["usage"] = self._usage
        return json.dumps(body, ensure_ascii=False).encode()


def _is_ours(block: Any) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "tool_use"
        and (block.get("name") == TOOL_NAME)
    )


def _function_name(call: Any) -> str | None:
    function = call.get("function") if isinstance(call, dict) else None
    return function.get("name") if isinstance(function, dict) else None


def _json(text: Any) -> Any:
    try:
        return json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
