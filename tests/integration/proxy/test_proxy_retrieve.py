"""The retrieve loop, streamed: the model calls headroom_retrieve on a marker, the proxy answers
from the original store and continues the turn upstream, and the client sees one answer."""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests import corpus
from tests.fake_provider import MARKER, RETRIEVE_TOOL, ErrorReply, FakeProvider, Reply, ToolCall
from tests.fake_provider.script import Exchange
from tests.integration.helpers import wire
from tests.integration.proxy.models import looking_then_retrieve
from tests.processes import Sidecar

ORIGINAL = corpus.kubectl_pods_json(60)


def expected_text(provider: FakeProvider) -> str:
    [first, second] = provider.generations()
    [key] = MARKER.findall(json.dumps(first.json()))
    return f"Let me look closer.Retrieved {key}={len(ORIGINAL)} chars."


@pytest.fixture(autouse=True)
def _model(provider: FakeProvider) -> None:
    provider.model = looking_then_retrieve


def anthropic_history() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Why are pods failing?"},
        *corpus.tool_turn_anthropic("toolu_01", "Bash", ORIGINAL),
    ]


def chat_history() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Why are pods failing?"},
        *corpus.tool_turn_openai("call_01", "Bash", ORIGINAL),
    ]


def events_of(raw: bytes) -> list[tuple[str | None, Any]]:
    out = []
    for frame in raw.decode().split("\n\n"):
        if frame.strip():
            fields = dict(line.split(": ", 1) for line in frame.splitlines())
            data = fields["data"]
            out.append((fields.get("event"), data if data == "[DONE]" else json.loads(data)))
    return out


def test_anthropic_stream_is_one_message_across_rounds(
    provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    with claude.messages.stream(model="m", max_tokens=64, messages=anthropic_history()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == expected_text(provider)
    assert [b.type for b in final.content] == ["text", "text"]
    assert final.stop_reason == "end_turn"
    first, second = provider.generations()
    rounds = [first.usage, second.usage]
    assert final.usage.input_tokens == sum(u.input_tokens for u in rounds if u)
    assert final.usage.cache_read_input_tokens == sum(u.cache_read for u in rounds if u)
    # The continuation resends the first request's conversation byte for byte, then the
    # assistant's call and the tool result carrying the original.
    sent_first = b",".join(wire(m).encode() for m in first.json()["messages"])
    assert sent_first in first.body, "the proxy sends compact JSON, in the caller's key order"
    assert b'"messages":[' + sent_first + b"," in second.body
    appended = second.json()["messages"][len(first.json()["messages"]) :]
    assert [m["role"] for m in appended] == ["assistant", "user"]
    assert appended[0]["content"][-1]["name"] == RETRIEVE_TOOL
    assert appended[1]["content"][0]["content"] == ORIGINAL


def test_anthropic_raw_stream_renumbers_and_never_shows_the_tool(
    provider: FakeProvider, gateway: Sidecar, tenant: str
) -> None:
    body = {"model": "m", "max_tokens": 64, "stream": True, "messages": anthropic_history()}
    arrivals: list[tuple[float, bytes]] = []
    with httpx.stream(
        "POST",
        gateway.url + "/v1/messages",
        json=body,
        headers={"x-api-key": "k", "x-headroom-user-id": tenant},
    ) as response:
        for chunk in response.iter_raw():
            arrivals.append((time.perf_counter(), chunk))
    raw = b"".join(chunk for _, chunk in arrivals)
    assert RETRIEVE_TOOL.encode() not in raw
    events = events_of(raw)
    names = [name for name, _ in events]
    assert names.count("message_start") == names.count("message_delta") == 1
    assert names.count("message_stop") == 1 and names[-1] == "message_stop"
    starts = [d["index"] for n, d in events if n == "content_block_start"]
    assert starts == [0, 1]
    assert all(d["index"] in starts for n, d in events if n and n.startswith("content_block"))
    # Text streamed before the call reached the client before the continuation was even sent.
    first_text = next(t for t, chunk in arrivals if b"text_delta" in chunk)
    second = provider.generations()[1]
    assert first_text < second.received_at


def test_openai_chat_stream_is_one_completion_across_rounds(
    provider: FakeProvider, gpt: openai.OpenAI
) -> None:
    stream = gpt.chat.completions.create(
        model="gpt-4o", messages=chat_history(), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected_text(provider)
    assert not [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert [f for f in finishes if f] == ["stop"]
    assert len({c.id for c in chunks}) == 1
    usage = chunks[-1].usage
    first, second = provider.generations()
    assert usage is not None
    assert usage.prompt_tokens == sum(r.usage.total for r in (first, second) if r.usage)
    appended = second.json()["messages"][len(first.json()["messages"]) :]
    assert appended[0]["tool_calls"][0]["function"]["name"] == RETRIEVE_TOOL
    assert appended[1] == {
        "role": "tool",
        "tool_call_id": appended[0]["tool_calls"][0]["id"],
        "content": ORIGINAL,
    }


def test_not_streamed_rounds_are_merged(
    provider: FakeProvider, claude: anthropic.Anthropic, gpt: openai.OpenAI
) -> None:
    message = claude.messages.create(model="m", max_tokens=64, messages=anthropic_history())
    assert "".join(b.text for b in message.content if b.type == "text") == expected_text(provider)
    assert all(b.type == "text" for b in message.content) and message.stop_reason == "end_turn"
    provider.reset()
    completion = gpt.chat.completions.create(model="gpt-4o", messages=chat_history())
    assert completion.choices[0].message.content == expected_text(provider)
    assert not completion.choices[0].message.tool_calls
    assert completion.choices[0].finish_reason == "stop"


def test_a_model_that_keeps_calling_stops_after_three_rounds(
    provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    def always(exchange: Exchange) -> Reply:
        [key] = {h for t in exchange.texts for h in MARKER.findall(t)}
        return Reply.call(RETRIEVE_TOOL, {"hash": key}, text="again ")

    provider.model = always
    with claude.messages.stream(model="m", max_tokens=64, messages=anthropic_history()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert len(provider.generations()) == 4, "the first request and 3 continuations"
    assert text == "again " * 4
    assert final.stop_reason == "end_turn" and all(b.type == "text" for b in final.content)


def test_default_mode_declares_no_tool_and_leaves_no_marker(
    provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    claude.messages.create(
        model="m",
        max_tokens=64,
        messages=anthropic_history(),
        extra_headers={"x-headroom-mode": "default"},
    )
    [sent] = provider.generations()
    body = sent.json()
    assert "tools" not in body
    compressed = body["messages"][2]["content"][0]["content"]
    assert len(compressed) < len(ORIGINAL) / 3 and not MARKER.search(compressed)


def both_tools(exchange: Exchange) -> Reply:
    [key] = {h for t in exchange.texts for h in MARKER.findall(t)}
    calls = (ToolCall(RETRIEVE_TOOL, {"hash": key}), ToolCall("Bash", {"cmd": "ls"}))
    return Reply(text="Both.", tool_calls=calls)


def test_a_retrieve_call_beside_the_clients_own_tool_is_hidden_and_the_turn_ends(
    provider: FakeProvider,
    gateway: Sidecar,
    tenant: str,
    claude: anthropic.Anthropic,
    gpt: openai.OpenAI,
) -> None:
    """The client must answer its own call, so the turn goes back to it; the retrieve call
    (which it could not answer) is removed and the blocks after it renumbered."""
    provider.model = both_tools
    with claude.messages.stream(model="m", max_tokens=64, messages=anthropic_history()) as stream:
        final = stream.get_final_message()
    assert [(b.type, getattr(b, "name", None)) for b in final.content] == [
        ("text", None),
        ("tool_use", "Bash"),
    ]
    assert final.stop_reason == "tool_use" and len(provider.generations()) == 1
    chunks = list(gpt.chat.completions.create(model="gpt-4o", messages=chat_history(), stream=True))
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert {call.index for call in calls} == {0}
    assert [call.function.name for call in calls if call.function and call.function.name] == [
        "Bash"
    ]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    # not streamed: the same, from the whole answers
    whole = claude.messages.create(model="m", max_tokens=64, messages=anthropic_history())
    assert [getattr(b, "name", None) for b in whole.content] == [None, "Bash"]
    assert whole.stop_reason == "tool_use"
    completion = gpt.chat.completions.create(model="gpt-4o", messages=chat_history())
    [call] = completion.choices[0].message.tool_calls or []
    assert call.function.name == "Bash"  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"


def codex_items() -> list[dict[str, Any]]:
    return [
        {"type": "message", "role": "user",
         "content": [{"type": "input_text", "text": "Why are pods failing?"}]},
        {"type": "function_call", "call_id": "call_1", "name": "shell",
         "arguments": json.dumps({"command": ["kubectl", "get", "pods", "-o", "json"]})},
        {"type": "function_call_output", "call_id": "call_1", "output": ORIGINAL},
    ]  # fmt: skip


def test_openai_responses_stream_is_one_response_across_rounds(
    provider: FakeProvider, gateway: Sidecar, tenant: str, gpt: openai.OpenAI
) -> None:
    with gpt.responses.stream(model="gpt-5", input=codex_items()) as stream:  # type: ignore[arg-type]
        kinds = []
        text = ""
        for event in stream:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
        final = stream.get_final_response()
    assert RETRIEVE_TOOL not in final.model_dump_json()
    assert text == expected_text(provider)
    assert kinds.count("response.created") == kinds.count("response.completed") == 1
    assert [item.type for item in final.output] == ["message", "message"]
    assert final.output_text == expected_text(provider)
    first, second = provider.generations()
    assert final.usage is not None
    assert final.usage.input_tokens == sum(r.usage.total for r in (first, second) if r.usage)
    appended = second.json()["input"][len(first.json()["input"]) :]
    assert [i["type"] for i in appended] == ["message", "function_call", "function_call_output"]
    assert appended[1]["name"] == RETRIEVE_TOOL and "id" not in appended[1]
    assert appended[2] == {"type": "function_call_output", "call_id": appended[1]["call_id"],
                           "output": ORIGINAL}  # fmt: skip
    # raw: contiguous sequence numbers and output indexes, no retrieve call anywhere
    provider.reset()
    body = {"model": "gpt-5", "stream": True, "input": codex_items()}
    headers = {"authorization": "Bearer k", "x-headroom-user-id": tenant}
    raw = httpx.post(gateway.url + "/v1/responses", json=body, headers=headers).content
    assert RETRIEVE_TOOL.encode() not in raw
    events = [data for _, data in events_of(raw)]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    assert added == [0, 1]


def test_openai_responses_not_streamed_rounds_are_merged(
    provider: FakeProvider, gpt: openai.OpenAI
) -> None:
    response = gpt.responses.create(model="gpt-5", input=codex_items())  # type: ignore[arg-type]
    assert response.output_text == expected_text(provider)
    assert all(item.type == "message" for item in response.output)
    assert RETRIEVE_TOOL not in response.model_dump_json()


def test_a_marker_from_another_tenant_is_not_resolved(
    provider: FakeProvider, gateway: Sidecar, claude: anthropic.Anthropic
) -> None:
    claude.messages.create(model="m", max_tokens=64, messages=anthropic_history())
    [key] = MARKER.findall(json.dumps(provider.generations()[0].json()))
    provider.reset()
    other = anthropic.Anthropic(base_url=gateway.url, api_key="sk-ant-test", max_retries=0,
                                default_headers={"x-headroom-user-id": "someone-else"})  # fmt: skip
    stolen = f"[headroom: compressed from 57272 chars. Retrieve original: hash={key}]"
    history = [{"role": "user", "content": "Why?"},
               *corpus.tool_turn_anthropic("toolu_9", "Bash", stolen)]  # fmt: skip
    other.messages.create(model="m", max_tokens=64, messages=history)  # type: ignore[arg-type]
    first, second = provider.generations()
    answer = second.json()["messages"][-1]["content"][0]["content"]
    assert answer.startswith(f"No original found for hash={key}")


def retrieve_then_overloaded(exchange: Exchange) -> Reply | ErrorReply | None:
    if any(c.name == RETRIEVE_TOOL for c in exchange.calls):
        return ErrorReply.overloaded()
    return looking_then_retrieve(exchange)


def test_a_continuation_the_provider_refuses_ends_the_stream_with_its_error(
    provider: FakeProvider, claude: anthropic.Anthropic, gpt: openai.OpenAI
) -> None:
    """The SDK raises what it would have raised for the provider's own error, after the text
    already streamed, so the client retries the turn as it does for any overloaded stream."""
    provider.model = retrieve_then_overloaded
    text = ""
    with pytest.raises(anthropic.APIStatusError) as raised:
        with claude.messages.stream(model="m", max_tokens=64, messages=anthropic_history()) as s:
            for piece in s.text_stream:
                text += piece
    assert text == "Let me look closer."
    assert raised.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    with pytest.raises(openai.APIError) as failed:
        list(gpt.chat.completions.create(model="gpt-4o", messages=chat_history(), stream=True))
    assert failed.value.message == "Overloaded"


def test_a_continuation_the_provider_refuses_is_its_error_when_not_streamed(
    provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    provider.model = retrieve_then_overloaded
    with pytest.raises(anthropic.InternalServerError) as raised:
        claude.messages.create(model="m", max_tokens=64, messages=anthropic_history())
    assert raised.value.status_code == 529
    assert raised.value.response.headers["x-should-retry"] == "true"


def test_a_caller_that_declares_the_tool_itself_answers_its_calls(
    provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    schema = {"type": "object", "properties": {"hash": {"type": "string"}}}
    own = {"name": RETRIEVE_TOOL, "description": "mine", "input_schema": schema}
    message = claude.messages.create(model="m", max_tokens=64, messages=anthropic_history(),
                                     tools=[own])  # type: ignore[list-item]  # fmt: skip
    assert message.stop_reason == "tool_use"
    assert [(b.type, getattr(b, "name", None)) for b in message.content] == [
        ("text", None), ("tool_use", RETRIEVE_TOOL)]  # fmt: skip
    [sent] = provider.generations()
    assert sent.json()["tools"] == [own]
