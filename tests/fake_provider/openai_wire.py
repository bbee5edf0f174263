"""OpenAI Chat Completions and Responses answers, whole and as their real streams.

Chat stream: `data:` chunks (role first, content deltas, tool_calls deltas carrying id/name
once then argument pieces, a finish_reason chunk, with `stream_options.include_usage` a last
chunk with empty choices and the usage), then `data: [DONE]`.
Responses stream: response.created, response.in_progress, per output item output_item.added,
content_part.added / output_text.delta / output_text.done / content_part.done (message) or
function_call_arguments.delta / .done (function_call), output_item.done, response.completed
(usage with input_tokens_details.cached_tokens); every event has a sequence_number.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fake_provider.cache import CacheUsage, tokens
from tests.fake_provider.ids import new_id
from tests.fake_provider.script import Reply

Event = tuple[str | None, dict[str, Any]]


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _output_tokens(reply: Reply) -> int:
    size = len(reply.text) + sum(len(json.dumps(c.input)) + len(c.name) for c in reply.tool_calls)
    return max(tokens(size), 1)


# Chat Completions ------------------------------------------------------------------------


def _chat_usage(reply: Reply, cache: CacheUsage) -> dict[str, Any]:
    output = _output_tokens(reply)
    return {"prompt_tokens": cache.total, "completion_tokens": output,
            "total_tokens": cache.total + output,
            "prompt_tokens_details": {"cached_tokens": cache.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}}  # fmt: skip


def _chat_calls(reply: Reply) -> list[dict[str, Any]]:
    return [{"id": c.id or new_id("call_"), "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.input)}}
            for c in reply.tool_calls]  # fmt: skip


def chat_completion(reply: Reply, model: str, cache: CacheUsage) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None,
                               "refusal": None, "annotations": []}  # fmt: skip
    if reply.tool_calls:
        message["tool_calls"] = _chat_calls(reply)
    finish = "tool_calls" if reply.tool_calls else "stop"
    return {"id": new_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
            "usage": _chat_usage(reply, cache)}  # fmt: skip


def chat_chunks(
    reply: Reply, model: str, cache: CacheUsage, chunk_chars: int, include_usage: bool
) -> list[Event]:
    base = {"id": new_id("chatcmpl-"), "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model,
            "system_fingerprint": "fp_fake"}  # fmt: skip
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> Event:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return (None, {**base, "choices": [choice], **extra})

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if reply.text:
        out += [chunk({"content": piece}) for piece in _split(reply.text, chunk_chars)]
    for index, call in enumerate(_chat_calls(reply)):
        head = {"index": index, "id": call["id"], "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""}}  # fmt: skip
        out.append(chunk({"tool_calls": [head]}))
        for piece in _split(call["function"]["arguments"], chunk_chars):
            out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    out.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
    if include_usage:
        out.append((None, {**base, "choices": [], "usage": _chat_usage(reply, cache)}))
    return out


# Responses -------------------------------------------------------------------------------


def _responses_usage(reply: Reply, cache: CacheUsage) -> dict[str, Any]:
    output = _output_tokens(reply)
    return {"input_tokens": cache.total,
            "input_tokens_details": {"cached_tokens": cache.cache_read},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": cache.total + output}  # fmt: skip


def _items(reply: Reply) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.text:
        part = {"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}
        items.append({"type": "message", "id": new_id("msg_"), "status": "completed",
                      "role": "assistant", "content": [part]})  # fmt: skip
    for call in reply.tool_calls:
        items.append({"type": "function_call", "id": new_id("fc_"), "status": "completed",
                      "call_id": call.id or new_id("call_"), "name": call.name,
                      "arguments": json.dumps(call.input)})  # fmt: skip
    return items


def _response(
    body: dict[str, Any], model: str, status: str, items: list[dict[str, Any]], usage: Any
) -> dict[str, Any]:
    return {"id": body["id"] if "id" in body else new_id("resp_"), "object": "response",
            "created_at": int(time.time()), "status": status, "error": None,
            "incomplete_details": None, "instructions": body.get("instructions"),
            "model": model, "output": items, "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"), "store": False,
            "temperature": 1.0, "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [], "top_p": 1.0, "truncation": "disabled",
            "usage": usage, "metadata": {}}  # fmt: skip


def response(reply: Reply, body: dict[str, Any], model: str, cache: CacheUsage) -> dict[str, Any]:
    return _response(body, model, "completed", _items(reply), _responses_usage(reply, cache))


def response_events(
    reply: Reply, body: dict[str, Any], model: str, cache: CacheUsage, chunk_chars: int
) -> list[Event]:
    items = _items(reply)
    ident = {**body, "id": new_id("resp_")}
    out: list[Event] = []

    def emit(kind: str, **fields: Any) -> None:
        out.append((kind, {"type": kind, "sequence_number": len(out), **fields}))

    emit("response.created", response=_response(ident, model, "in_progress", [], None))
    emit("response.in_progress", response=_response(ident, model, "in_progress", [], None))
    for index, item in enumerate(items):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            emit("response.output_item.added", output_index=index,
                 item={**item, "status": "in_progress", "content": []})  # fmt: skip
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            emit("response.content_part.added", **where, content_index=0, part=empty)
            for piece in _split(text, chunk_chars):
                emit("response.output_text.delta", **where, content_index=0, delta=piece,
                     logprobs=[])  # fmt: skip
            emit("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            emit("response.content_part.done", **where, content_index=0, part=item["content"][0])
        else:
            emit("response.output_item.added", output_index=index,
                 item={**item, "status": "in_progress", "arguments": ""})  # fmt: skip
            for piece in _split(item["arguments"], chunk_chars):
                emit("response.function_call_arguments.delta", **where, delta=piece)
            emit("response.function_call_arguments.done", **where, name=item["name"],
                 arguments=item["arguments"])  # fmt: skip
        emit("response.output_item.done", output_index=index, item=item)
    usage = _responses_usage(reply, cache)
    emit("response.completed", response=_response(ident, model, "completed", items, usage))
    return out
