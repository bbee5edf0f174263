"""The fake provider speaks the real wire formats: the real anthropic and openai SDKs parse it.

These tests keep the fake honest, since the proxy's tests and benchmarks trust it.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fake_provider import ErrorReply, FakeProvider, Reply

HASH = "0123456789abcdef01234567"
MARKER_TEXT = f"[1200 lines omitted. Retrieve original: hash={HASH}]"
RETRIEVE_TOOL_ANTHROPIC = {
    "name": "headroom_retrieve",
    "description": "Get an original.",
    "input_schema": {"type": "object", "properties": {"hash": {"type": "string"}}},
}
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def claude(fake_provider: FakeProvider) -> Iterator[anthropic.Anthropic]:
    """Closed after the test: a pooled socket left to the garbage collector is a warning."""
    with anthropic.Anthropic(base_url=fake_provider.url, api_key="sk-ant-test",
                             max_retries=0) as client:  # fmt: skip
        yield client


@pytest.fixture
def gpt(fake_provider: FakeProvider) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="sk-test",
                       max_retries=0) as client:  # fmt: skip
        yield client


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) per SSE frame."""
    frames = []
    for frame in raw.decode().split("\n\n"):
        if not frame.strip():
            continue
        fields = dict(line.split(": ", 1) for line in frame.splitlines())
        frames.append((fields.get("event"), fields["data"]))
    return frames


# Anthropic -------------------------------------------------------------------------------


def test_anthropic_message_is_parsed_and_the_request_recorded(
    fake_provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    message = claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=USER,
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == fake_provider.default_text
    assert message.stop_reason == "end_turn" and message.usage.input_tokens > 0
    request = fake_provider.generations()[0]
    assert (request.method, request.route, request.api) == ("POST", "/v1/messages", "anthropic")
    # this SDK release sends its key as a bearer token; Claude Code sends x-api-key
    credentials = {request.header("x-api-key"), request.header("authorization")}
    assert credentials & {"sk-ant-test", "Bearer sk-ant-test"}
    assert request.header("anthropic-beta") == "prompt-caching-2024-07-31"
    assert request.header("anthropic-version")
    assert request.json()["messages"] == USER and request.settled_outcome() == "completed"


def test_anthropic_stream_has_the_real_event_sequence(fake_provider: FakeProvider) -> None:
    fake_provider.enqueue(Reply.call("Bash", {"command": "ls -la"}, text="Looking."))
    body = {"model": "m", "max_tokens": 9, "stream": True, "messages": USER}
    raw = httpx.post(fake_provider.url + "/v1/messages?beta=true", json=body).content
    events = sse_events(raw)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 2
    assert all(json.loads(data)["type"] == name for name, data in events)
    deltas = [json.loads(d)["delta"] for n, d in events if n == "content_block_delta"]
    assert {d["type"] for d in deltas} == {"text_delta", "input_json_delta"}
    assert [d for d in deltas if d["type"] == "input_json_delta"][0]["partial_json"] == ""
    final = json.loads(events[-2][1])
    assert final["delta"]["stop_reason"] == "tool_use" and final["usage"]["output_tokens"] > 1


def test_anthropic_sdk_stream_assembles_text_and_tool_use(
    fake_provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    fake_provider.enqueue(Reply.call("Bash", {"command": "kubectl get pods -A"}, text="Checking."))
    with claude.messages.stream(model="m", max_tokens=64, messages=USER) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert text == "Checking."
    tool = message.content[1]
    assert tool.type == "tool_use" and tool.name == "Bash"
    assert tool.input == {"command": "kubectl get pods -A"} and tool.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"


def test_anthropic_cache_reads_the_common_prefix_up_to_the_breakpoint(
    fake_provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    history: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "x" * 8000, "cache_control": {"type": "ephemeral"}}
            ],
        }
    ]
    headers = {"X-Claude-Code-Session-Id": "s1"}
    first = claude.messages.create(model="m", max_tokens=8, messages=history, extra_headers=headers)
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation_input_tokens > 1900
    history += [
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "more", "cache_control": {"type": "ephemeral"}}],
        },
    ]
    second = claude.messages.create(
        model="m", max_tokens=8, messages=history, extra_headers=headers
    )
    assert second.usage.cache_read_input_tokens >= 2000
    history[0]["content"][0]["text"] = "y" + "x" * 7999  # an early byte changed: cache busted
    third = claude.messages.create(model="m", max_tokens=8, messages=history, extra_headers=headers)
    assert third.usage.cache_read_input_tokens == 0
    other = claude.messages.create(
        model="m", max_tokens=8, messages=history, extra_headers={"X-Claude-Code-Session-Id": "s2"}
    )
    assert other.usage.cache_read_input_tokens == 0, "sessions do not share a cache"


def test_anthropic_without_breakpoint_caches_nothing(claude: anthropic.Anthropic) -> None:
    for _ in range(2):
        usage = claude.messages.create(model="m", max_tokens=8, messages=USER).usage
    assert usage.cache_read_input_tokens == 0 and usage.cache_creation_input_tokens == 0


def test_count_tokens(claude: anthropic.Anthropic) -> None:
    short = claude.messages.count_tokens(model="m", messages=USER).input_tokens
    long = claude.messages.count_tokens(
        model="m", messages=[{"role": "user", "content": "word " * 4000}]
    ).input_tokens
    assert 0 < short < long and long >= 5000


@pytest.mark.parametrize(
    ("error", "exception", "kind"),
    [
        (ErrorReply.bad_request(), anthropic.BadRequestError, "invalid_request_error"),
        (ErrorReply.unauthorized(), anthropic.AuthenticationError, "authentication_error"),
        (ErrorReply.rate_limited(7), anthropic.RateLimitError, "rate_limit_error"),
        (ErrorReply.overloaded(), anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_anthropic_errors_in_the_real_shape(
    fake_provider: FakeProvider,
    claude: anthropic.Anthropic,
    error: ErrorReply,
    exception: type[anthropic.APIStatusError],
    kind: str,
) -> None:
    fake_provider.enqueue(error)
    with pytest.raises(exception) as raised:
        claude.messages.create(model="m", max_tokens=8, messages=USER)
    assert raised.value.status_code == error.status
    body = raised.value.body
    assert isinstance(body, dict) and body["error"]["type"] == kind and body["type"] == "error"
    assert raised.value.request_id and raised.value.request_id.startswith("req_")
    headers = raised.value.response.headers
    if error.status == 429:
        assert headers["retry-after"] == "7"
        assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert fake_provider.generations()[0].settled_outcome() == "error"


def test_wrong_key_is_a_401_when_a_key_is_required() -> None:
    with FakeProvider(api_key="sk-right") as fake:
        with anthropic.Anthropic(base_url=fake.url, api_key="sk-wrong", max_retries=0) as wrong:
            with pytest.raises(anthropic.AuthenticationError):
                wrong.messages.create(model="m", max_tokens=8, messages=USER)
        with anthropic.Anthropic(base_url=fake.url, api_key="sk-right", max_retries=0) as right:
            assert right.messages.create(model="m", max_tokens=8, messages=USER).content


# The scripted retrieve model --------------------------------------------------------------


def test_anthropic_model_retrieves_a_marker_then_answers(
    fake_provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    messages: list[Any] = [{"role": "user", "content": "summarise: " + MARKER_TEXT}]
    with claude.messages.stream(
        model="m", max_tokens=64, messages=messages, tools=[RETRIEVE_TOOL_ANTHROPIC]
    ) as stream:
        first = stream.get_final_message()
    call = first.content[0]
    assert call.type == "tool_use" and call.name == "headroom_retrieve"
    assert call.input == {"hash": HASH}
    messages += [
        {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "a" * 1234}],
        },
    ]
    second = claude.messages.create(
        model="m", max_tokens=64, messages=messages, tools=[RETRIEVE_TOOL_ANTHROPIC]
    )
    assert second.content[0].type == "text"
    assert second.content[0].text == f"Retrieved {HASH}=1234 chars."


def test_marker_without_the_tool_is_not_retrieved(
    fake_provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    messages = [{"role": "user", "content": MARKER_TEXT}]
    reply = claude.messages.create(model="m", max_tokens=8, messages=messages)
    assert reply.content[0].type == "text" and reply.stop_reason == "end_turn"


def test_chat_model_retrieves_a_marker_then_answers(gpt: openai.OpenAI) -> None:
    tool = {
        "type": "function",
        "function": {"name": "headroom_retrieve", "parameters": {"type": "object"}},
    }
    messages: list[Any] = [{"role": "user", "content": MARKER_TEXT}]
    first = gpt.chat.completions.create(model="m", messages=messages, tools=[tool])
    calls = first.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "headroom_retrieve"
    assert json.loads(calls[0].function.arguments) == {"hash": HASH}
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": "b" * 10},
    ]
    second = gpt.chat.completions.create(model="m", messages=messages, tools=[tool])
    assert second.choices[0].message.content == f"Retrieved {HASH}=10 chars."


def test_responses_model_retrieves_a_marker_then_answers(gpt: openai.OpenAI) -> None:
    tool = {"type": "function", "name": "headroom_retrieve", "parameters": {"type": "object"}}
    items: list[Any] = [{"type": "message", "role": "user", "content": MARKER_TEXT}]
    with gpt.responses.stream(model="m", input=items, tools=[tool]) as stream:  # type: ignore[list-item]
        first = stream.get_final_response()
    call = first.output[0]
    assert call.type == "function_call" and json.loads(call.arguments) == {"hash": HASH}
    items += [
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "c" * 5},
    ]
    second = gpt.responses.create(model="m", input=items, tools=[tool])  # type: ignore[list-item]
    assert second.output_text == f"Retrieved {HASH}=5 chars."


# OpenAI Chat Completions -----------------------------------------------------------------


def test_chat_completion_with_tool_calls(fake_provider: FakeProvider, gpt: openai.OpenAI) -> None:
    fake_provider.enqueue(Reply.call("shell", {"cmd": ["ls"]}))
    completion = gpt.chat.completions.create(model="gpt-5", messages=USER)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"cmd": ["ls"]}
    assert completion.usage and completion.usage.prompt_tokens > 0
    assert fake_provider.generations()[0].header("authorization") == "Bearer sk-test"


def test_chat_stream_with_usage_ends_with_usage_chunk_and_done(
    fake_provider: FakeProvider, gpt: openai.OpenAI
) -> None:
    fake_provider.enqueue(Reply.call("shell", {"cmd": "cat " + "f" * 40}, text="Reading."))
    chunks = list(
        gpt.chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Reading."
    arguments = "".join(
        tc.function.arguments or ""
        for c in chunks
        if c.choices
        for tc in c.choices[0].delta.tool_calls or []
        if tc.function
    )
    assert json.loads(arguments) == {"cmd": "cat " + "f" * 40}
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.prompt_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    raw = httpx.post(
        fake_provider.url + "/v1/chat/completions",
        json={"model": "m", "messages": USER, "stream": True},
    ).content
    assert raw.endswith(b"data: [DONE]\n\n") and b'"usage"' not in raw


def test_chat_reports_cached_tokens_for_a_repeated_prefix(gpt: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "z" * 4000}]
    gpt.chat.completions.create(model="m", messages=messages, prompt_cache_key="k")
    messages += [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}]
    again = gpt.chat.completions.create(model="m", messages=messages, prompt_cache_key="k")
    assert again.usage and again.usage.prompt_tokens_details
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert cached is not None and 1000 <= cached < again.usage.prompt_tokens
    other = gpt.chat.completions.create(model="m", messages=messages, prompt_cache_key="other")
    assert other.usage and other.usage.prompt_tokens_details
    assert other.usage.prompt_tokens_details.cached_tokens == 0


def test_openai_errors_in_the_real_shape(fake_provider: FakeProvider, gpt: openai.OpenAI) -> None:
    fake_provider.enqueue(ErrorReply.rate_limited(3))
    with pytest.raises(openai.RateLimitError) as raised:
        gpt.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.response.headers["retry-after"] == "3"
    assert raised.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    fake_provider.enqueue(ErrorReply.bad_request("bad input"))
    with pytest.raises(openai.BadRequestError) as bad:
        gpt.responses.create(model="m", input="hi")
    assert bad.value.message.endswith("bad input") and bad.value.type == "invalid_request_error"


# OpenAI Responses ------------------------------------------------------------------------


def test_responses_whole_and_streamed(fake_provider: FakeProvider, gpt: openai.OpenAI) -> None:
    whole = gpt.responses.create(model="gpt-5", input="hi", prompt_cache_key="codex-1")
    assert whole.output_text == fake_provider.default_text and whole.status == "completed"
    fake_provider.enqueue(Reply.call("shell", {"command": ["ls"]}, text="Listing."))
    with gpt.responses.stream(model="gpt-5", input="hi", prompt_cache_key="codex-1") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert "response.function_call_arguments.delta" in kinds
    assert final.output_text == "Listing."
    assert final.usage and final.usage.input_tokens_details.cached_tokens > 0
    assert [item.type for item in final.output] == ["message", "function_call"]


def test_responses_stream_sequence_numbers_count_up(fake_provider: FakeProvider) -> None:
    body = {"model": "m", "input": [{"role": "user", "content": "hi"}], "stream": True}
    events = sse_events(httpx.post(fake_provider.url + "/v1/responses", json=body).content)
    numbers = [json.loads(data)["sequence_number"] for _, data in events]
    assert numbers == list(range(len(events)))


# Transport behaviour ---------------------------------------------------------------------


def test_delays_space_the_events() -> None:
    with FakeProvider(ttft=0.1, chunk_delay=0.02, chunk_chars=4) as fake:
        fake.enqueue(Reply.say("abcdefghijkl"))  # 3 deltas: 9 events
        body = {"model": "m", "max_tokens": 9, "stream": True, "messages": USER}
        started = time.perf_counter()
        httpx.post(fake.url + "/v1/messages", json=body)
        request = fake.generations()[0]
    sent = request.sent_at
    assert len(sent) == 9
    assert sent[0] - started >= 0.1
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert min(gaps) >= 0.019


def test_chunked_request_bodies_are_read(fake_provider: FakeProvider) -> None:
    payload = json.dumps({"model": "m", "max_tokens": 9, "messages": USER}).encode()

    def pieces() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    response = httpx.post(fake_provider.url + "/v1/messages", content=pieces())
    assert response.status_code == 200
    assert fake_provider.generations()[0].body == payload


def test_a_client_that_goes_away_is_recorded_as_disconnected() -> None:
    with FakeProvider(chunk_delay=0.05, chunk_chars=1) as fake:
        fake.enqueue(Reply.say("x" * 200))
        body = json.dumps({"model": "m", "max_tokens": 9, "stream": True, "messages": USER})
        with socket.create_connection(("127.0.0.1", fake.port)) as conn:
            conn.sendall(
                f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: "
                f"application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
            )
            assert conn.recv(100).startswith(b"HTTP/1.1 200")
        assert fake.generations()[0].done.wait(5)
        assert fake.generations()[0].outcome == "disconnected"


def test_bad_json_and_unknown_routes_get_provider_errors(fake_provider: FakeProvider) -> None:
    bad = httpx.post(fake_provider.url + "/v1/chat/completions", content=b"{nope")
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.post(fake_provider.url + "/v1/nothing", json={})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    models = httpx.get(fake_provider.url + "/v1/models")
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "fake-model"


def test_anthropic_mid_stream_error_event(
    fake_provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    fake_provider.enqueue(Reply(text="partial answer " * 5, stream_error=ErrorReply.overloaded()))
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        with claude.messages.stream(model="m", max_tokens=64, messages=USER) as stream:
            for _ in stream:
                pass
    body = {"model": "m", "max_tokens": 9, "stream": True, "messages": USER}
    fake_provider.enqueue(Reply(text="partial answer " * 5, stream_error=ErrorReply.overloaded()))
    events = sse_events(httpx.post(fake_provider.url + "/v1/messages", json=body).content)
    assert [name for name, _ in events] == ["message_start", "ping", "content_block_start",
                                            "error"]  # fmt: skip
    assert json.loads(events[-1][1]) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert fake_provider.generations()[-1].settled_outcome() == "error"


def test_openai_mid_stream_errors(fake_provider: FakeProvider, gpt: openai.OpenAI) -> None:
    fake_provider.enqueue(Reply(text="partial " * 20, stream_error=ErrorReply.overloaded()))
    with pytest.raises(openai.APIError, match="Overloaded"):
        for _ in gpt.chat.completions.create(model="m", messages=USER, stream=True):
            pass
    fake_provider.enqueue(Reply(text="partial " * 20, stream_error=ErrorReply.overloaded()))
    with gpt.responses.stream(model="m", input="hi") as stream:
        kinds = [event.type for event in stream if event.type != "response.output_text.delta"]
    assert kinds[-1] == "error"


def test_a_cut_stream_ends_without_its_last_chunk(fake_provider: FakeProvider) -> None:
    fake_provider.enqueue(Reply(text="x" * 200, cut=True, fault_after=4))
    body = {"model": "m", "max_tokens": 9, "stream": True, "messages": USER}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(fake_provider.url + "/v1/messages", json=body)
    request = fake_provider.generations()[0]
    assert request.settled_outcome() == "cut" and len(request.sent_at) == 4
