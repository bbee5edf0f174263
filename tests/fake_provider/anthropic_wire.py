"""Anthropic Messages responses, whole and as the real SSE event sequence.

Stream: message_start (usage with input and cache tokens, output 1), ping, then per content
block content_block_start / *_delta / content_block_stop (text_delta; input_json_delta that
starts with an empty partial_json, as the API does), message_delta (stop_reason and cumulative
usage), message_stop.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fake_provider.cache import CacheUsage, tokens
from tests.fake_provider.ids import new_id
from tests.fake_provider.script import Reply

Event = tuple[str | None, dict[str, Any]]


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for call in reply.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id or new_id("toolu_"), "name": call.name,
                       "input": call.input})  # fmt: skip
    return blocks


def _usage(cache: CacheUsage, output: int) -> dict[str, Any]:
    return {"input_tokens": cache.input_tokens, "cache_creation_input_tokens": cache.cache_write,
            "cache_read_input_tokens": cache.cache_read, "output_tokens": output,
            "service_tier": "standard"}  # fmt: skip


def message(reply: Reply, model: str, cache: CacheUsage) -> dict[str, Any]:
    blocks = _blocks(reply)
    return {"id": new_id("msg_"), "type": "message", "role": "assistant", "model": model,
            "content": blocks, "stop_reason": _stop_reason(reply), "stop_sequence": None,
            "usage": _usage(cache, _output_tokens(blocks))}  # fmt: skip


def events(reply: Reply, model: str, cache: CacheUsage, chunk_chars: int) -> list[Event]:
    blocks = _blocks(reply)
    start: dict[str, Any] = {
        "id": new_id("msg_"), "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": _usage(cache, 1),
    }  # fmt: skip
    out: list[Event] = [("message_start", {"type": "message_start", "message": start}),
                        ("ping", {"type": "ping"})]  # fmt: skip
    for index, block in enumerate(blocks):
        empty: dict[str, Any]
        if block["type"] == "text":
            empty, kind, key = {"type": "text", "text": ""}, "text_delta", "text"
            pieces = _split(block["text"], chunk_chars)
        else:
            empty = {**block, "input": {}}
            kind, key = "input_json_delta", "partial_json"
            pieces = ["", *_split(json.dumps(block["input"]), chunk_chars)]
        start_block = {"type": "content_block_start", "index": index, "content_block": empty}
        out.append(("content_block_start", start_block))
        for piece in pieces:
            delta = {"type": "content_block_delta", "index": index}
            out.append(("content_block_delta", {**delta, "delta": {"type": kind, key: piece}}))
        out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    final = _usage(cache, _output_tokens(blocks))
    final.pop("service_tier")
    out.append(("message_delta", {"type": "message_delta", "usage": final,
                "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None}}))  # fmt: skip
    out.append(("message_stop", {"type": "message_stop"}))
    return out


def _stop_reason(reply: Reply) -> str:
    return "tool_use" if reply.tool_calls else "end_turn"


def _output_tokens(blocks: list[dict[str, Any]]) -> int:
    return max(tokens(len(json.dumps(blocks))), 1)


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
