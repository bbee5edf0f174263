"""The provider's own token usage, in one shape for metrics and the ledger.

`input` is uncached input in every API (OpenAI's prompt_tokens include cached tokens, which
are subtracted), so input + cache_read + cache_write is everything the prompt cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.proxy.sse import EventReader


@dataclass
class Usage:
    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0

    def add(self, other: Usage) -> None:
        self.input += other.input
        self.cache_read += other.cache_read
        self.cache_write += other.cache_write
        self.output += other.output


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def anthropic_usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    return Usage(
        _int(usage.get("input_tokens")),
        _int(usage.get("cache_read_input_tokens")),
        _int(usage.get("cache_creation_input_tokens")),
        _int(usage.get("output_tokens")),
    )


def openai_usage(usage: Any) -> Usage:
    """Chat Completions (prompt/completion tokens) or Responses (input/output tokens)."""
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    prompt = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    output = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    return Usage(max(0, prompt - cached), cached, 0, output)


def body_usage(provider: str, body: Any) -> Usage:
    """Usage from a non-streamed response body (either provider)."""
    if not isinstance(body, dict):
        return Usage()
    if provider == "anthropic":
        return anthropic_usage(body.get("usage"))
    return openai_usage(body.get("usage"))


class StreamUsage:
    """Reads usage out of a stream the proxy forwards untouched (it only watches)."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._reader = EventReader()
        self._anthropic: dict[str, Any] = {}
        self.usage = Usage()

    def feed(self, chunk: bytes) -> None:
        for event in self._reader.feed(chunk):
            data = event.json()
            if not isinstance(data, dict):
                continue
            if self._provider == "anthropic":
                message = data.get("message")
                if data.get("type") == "message_start" and isinstance(message, dict):
                    self._anthropic.update(message.get("usage") or {})
                elif data.get("type") == "message_delta":
                    self._anthropic.update(data.get("usage") or {})
                self.usage = anthropic_usage(self._anthropic)
            elif isinstance(data.get("usage"), dict):  # chat: the last chunk
                self.usage = openai_usage(data["usage"])
            elif isinstance(data.get("response"), dict) and data["response"].get("usage"):
                self.usage = openai_usage(data["response"]["usage"])  # responses: completed


def sum_usage(total: dict[str, Any] | None, usage: dict[str, Any]) -> dict[str, Any]:
    """Numbers summed key by key, nested details included."""
    out = dict(total or {})
    for key, value in usage.items():
        if isinstance(value, bool):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = out.get(key, 0) + value
        elif isinstance(value, dict):
            previous = out.get(key)
            out[key] = sum_usage(previous if isinstance(previous, dict) else None, value)
        else:
            out[key] = value
    return out
