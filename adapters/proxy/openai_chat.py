"""OpenAI Chat Completions bodies: `messages` are already what the core reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.proxy.dialect import header_session
from adapters.proxy.upstream import Provider
from core.messages import Message


class OpenAIChat:
    route = "chat_completions"
    provider: Provider = "openai"
    items_key = "messages"
    tool_provider = "openai"
    loops = True

    def to_core(self, body: dict[str, Any]) -> tuple[list[Message], Any] | None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return None
        return messages, None

    def from_core(self, body: dict[str, Any], messages_json: list[str], state: Any) -> list[str]:
        return messages_json

    def session_id(self, headers: Mapping[str, str], body: dict[str, Any]) -> str | None:
        return header_session(headers) or prompt_cache_key(body)


def prompt_cache_key(body: dict[str, Any]) -> str | None:
    key = body.get("prompt_cache_key")
    return key[:256] if isinstance(key, str) and key else None
