"""The proxy's stream splicers on hand-written event sequences the fake provider does not
produce (thinking blocks, CRLF framing, events split across chunks)."""

from __future__ import annotations

import json
from typing import Any

from adapters.proxy.anthropic_stream import AnthropicSplicer
from adapters.proxy.chat_stream import ChatSplicer
from adapters.proxy.responses_stream import client_calls
from adapters.proxy.sse import EventReader, encode
from core.ccr import TOOL_NAME


def anthropic_round(blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> bytes:
    usage = {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}
    out = encode({"type": "message_start", "message": {"id": "msg_1", "usage": usage}},
                 "message_start")  # fmt: skip
    for index, (start, deltas) in enumerate(blocks):
        out += encode({"type": "content_block_start", "index": index, "content_block": start},
                      "content_block_start")  # fmt: skip
        for delta in deltas:
            out += encode({"type": "content_block_delta", "index": index, "delta": delta},
                          "content_block_delta")  # fmt: skip
        out += encode({"type": "content_block_stop", "index": index}, "content_block_stop")
    stop = "tool_use" if any(b[0]["type"] == "tool_use" for b in blocks) else "end_turn"
    out += encode({"type": "message_delta", "delta": {"stop_reason": stop},
                   "usage": {"output_tokens": 7}}, "message_delta")  # fmt: skip
    return out + encode({"type": "message_stop"}, "message_stop")


def feed_bytes(splicer: Any, raw: bytes, size: int = 7) -> bytes:
    reader = EventReader()
    out = b""
    for at in range(0, len(raw), size):  # events split at arbitrary byte boundaries
        out += b"".join(splicer.feed(reader.feed(raw[at : at + size])))
    return out


def events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(e.data) for e in EventReader().feed(raw) if e.data != "[DONE]"]


def test_anthropic_thinking_survives_into_the_continuation_and_blocks_renumber() -> None:
    splicer = AnthropicSplicer()
    first = anthropic_round([
        ({"type": "thinking", "thinking": ""}, [{"type": "thinking_delta", "thinking": "hm"},
                                                {"type": "signature_delta", "signature": "sig"}]),
        ({"type": "tool_use", "id": "toolu_r", "name": TOOL_NAME, "input": {}},
         [{"type": "input_json_delta", "partial_json": '{"hash": "'},
          {"type": "input_json_delta", "partial_json": 'abcabcabcabc"}'}]),
    ])  # fmt: skip
    out = feed_bytes(splicer, first)
    assert TOOL_NAME.encode() not in out
    calls = splicer.end_round()
    assert calls is not None and [(c.id, c.hash) for c in calls] == [("toolu_r", "abcabcabcabc")]
    assistant, results = splicer.continuation({"toolu_r": "ORIGINAL"})
    assert assistant["content"][0] == {"type": "thinking", "thinking": "hm", "signature": "sig"}
    assert assistant["content"][1]["input"] == {"hash": "abcabcabcabc"}
    assert results["content"][0] == {"type": "tool_result", "tool_use_id": "toolu_r",
                                     "content": "ORIGINAL"}  # fmt: skip
    second = anthropic_round([({"type": "text", "text": ""},
                               [{"type": "text_delta", "text": "done"}])])  # fmt: skip
    out += feed_bytes(splicer, second)
    assert splicer.end_round() is None
    out += splicer.finish()
    seen = events(out)
    assert [e["type"] for e in seen].count("message_start") == 1
    assert [e["index"] for e in seen if e["type"] == "content_block_start"] == [0, 1]
    final = [e for e in seen if e["type"] == "message_delta"]
    assert len(final) == 1 and final[0]["delta"]["stop_reason"] == "end_turn"
    assert final[0]["usage"]["output_tokens"] == 14 and final[0]["usage"]["input_tokens"] == 20
    assert final[0]["usage"]["cache_read_input_tokens"] == 10


def test_a_plain_anthropic_turn_is_forwarded_byte_for_byte_even_with_crlf() -> None:
    text = ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "é"}])
    raw = anthropic_round([text]).replace(b"\n", b"\r\n")
    splicer = AnthropicSplicer()
    out = feed_bytes(splicer, raw, size=5)
    assert splicer.end_round() is None
    assert out + splicer.finish() == raw


def test_chat_calls_after_a_hidden_retrieve_call_are_renumbered() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return encode({"id": "c1", "object": "chat.completion.chunk", "choices": [choice]})

    raw = (chunk({"tool_calls": [{"index": 0, "id": "r", "type": "function",
                                  "function": {"name": TOOL_NAME, "arguments": ""}}]})
           + chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"hash":"ab"}'}}]})
           + chunk({"tool_calls": [{"index": 1, "id": "b", "type": "function",
                                    "function": {"name": "Bash", "arguments": "{}"}}]})
           + chunk({}, "tool_calls") + b"data: [DONE]\n\n")  # fmt: skip
    splicer = ChatSplicer()
    out = feed_bytes(splicer, raw)
    assert splicer.end_round() is None, "the client has a call of its own to answer"
    out += splicer.finish()
    assert TOOL_NAME.encode() not in out
    calls = [c for e in events(out) if isinstance(e, dict) and e.get("choices")
             for c in e["choices"][0]["delta"].get("tool_calls", [])]  # fmt: skip
    assert [(c["index"], c["id"]) for c in calls] == [(0, "b")]
    assert out.endswith(b"data: [DONE]\n\n")


def test_the_closing_delta_is_not_held_when_the_turn_ends_with_the_round() -> None:
    """message_delta goes out on arrival (not at message_stop) once no retrieve call is
    pending; with one pending it waits, since the turn may go on."""
    text = ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "hi"}])
    raw = anthropic_round([text])
    head = raw[: raw.index(b"event: message_stop")]
    splicer = AnthropicSplicer()
    assert feed_bytes(splicer, head) == head
    call = ({"type": "tool_use", "id": "t", "name": TOOL_NAME, "input": {}},
            [{"type": "input_json_delta", "partial_json": '{"hash": "abcabcabcabc"}'}])  # fmt: skip
    raw = anthropic_round([text, call])
    held = feed_bytes(AnthropicSplicer(), raw[: raw.index(b"event: message_stop")])
    assert b"message_delta" not in held and b"text_delta" in held


def test_responses_calls_the_provider_runs_do_not_stop_the_loop() -> None:
    ours = {"type": "function_call", "name": TOOL_NAME, "call_id": "c", "arguments": "{}"}
    assert not client_calls([ours, {"type": "web_search_call", "id": "ws"}])
    assert client_calls([ours, {"type": "custom_tool_call", "name": "apply_patch"}])
    assert client_calls([{"type": "some_future_call"}]), "unknown kinds are the client's"
