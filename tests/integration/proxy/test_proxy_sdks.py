"""The real anthropic and openai SDKs, pointed at the gateway, get what the provider sent;
the provider gets the caller's credentials and a compressed conversation."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests import corpus
from tests.fake_provider import FakeProvider, Reply
from tests.integration.helpers import metric
from tests.processes import Sidecar

BIG_JSON = corpus.kubectl_pods_json(60)  # ~16k tokens: compresses a lot
RETRIEVE = "headroom_retrieve"


@pytest.fixture(autouse=True)
def _plain_model(provider: FakeProvider) -> None:
    """A model that never calls headroom_retrieve: these tests are about the plain path."""
    provider.model = lambda exchange: Reply.say(provider.default_text)


def anthropic_history() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Why are pods failing?"},
        *corpus.tool_turn_anthropic("toolu_01", "Bash", BIG_JSON),
    ]


def test_anthropic_message_reaches_the_provider_compressed_with_the_callers_headers(
    provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    history = anthropic_history()
    message = claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=history,
        extra_headers={
            "anthropic-beta": "prompt-caching-2024-07-31",
            "x-headroom-session-id": "ignored-upstream",
        },
        extra_query={"beta": "true"},
    )
    assert message.content[0].text == provider.default_text
    [sent] = provider.generations()
    assert sent.path == "/v1/messages?beta=true"
    assert {sent.header("x-api-key"), sent.header("authorization")} & {
        "sk-ant-test",
        "Bearer sk-ant-test",
    }
    assert sent.header("anthropic-beta") == "prompt-caching-2024-07-31"
    assert sent.header("anthropic-version")
    assert not [h for h in sent.header_names() if h.startswith("x-headroom-")]
    body = sent.json()
    assert len(body["messages"]) == len(history)
    assert body["messages"][:2] == history[:2], "only tool output is rewritten"
    result = body["messages"][2]["content"][0]
    assert result["tool_use_id"] == "toolu_01"
    assert len(result["content"]) < len(BIG_JSON) / 3
    assert "Retrieve original: hash=" in result["content"], "ccr is the proxy's default"
    assert body["tools"][-1]["name"] == RETRIEVE


def test_anthropic_stream_is_forwarded_as_the_provider_sent_it(
    provider: FakeProvider, gateway: Sidecar, tenant: str, claude: anthropic.Anthropic
) -> None:
    provider.enqueue(Reply.call("Bash", {"command": "kubectl get pods"}, text="Checking é✓."))
    with claude.messages.stream(model="m", max_tokens=64, messages=anthropic_history()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Checking é✓."
    assert final.content[1].type == "tool_use" and final.content[1].name == "Bash"
    assert final.content[1].input == {"command": "kubectl get pods"}
    assert final.stop_reason == "tool_use"
    assert final.usage.input_tokens == provider.generations()[0].usage.input_tokens
    # Raw bytes: the provider escapes non-ASCII; anything re-encoded on the way would not.
    provider.enqueue(Reply.say("né"))
    body = {
        "model": "m",
        "max_tokens": 9,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    raw = httpx.post(
        gateway.url + "/v1/messages",
        json=body,
        headers={"x-api-key": "k", "x-headroom-user-id": tenant},
    ).content
    assert b'"text":"n\\u00e9"' in raw
    assert raw.count(b"event: message_start") == 1 and raw.endswith(
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )


def test_count_tokens_and_other_v1_paths_pass_through(
    provider: FakeProvider, gateway: Sidecar, claude: anthropic.Anthropic
) -> None:
    counted = claude.messages.count_tokens(model="m", messages=anthropic_history())
    assert 0 < counted.input_tokens < len(BIG_JSON) / 4 / 2, "counted on the compressed body"
    models = claude.models.list()
    assert [m.id for m in models.data] == ["fake-model"]
    routes = [r.route for r in provider.requests]
    assert routes == ["/v1/messages/count_tokens", "/v1/models"]
    # The gateway's own paths are never forwarded, whatever the method.
    assert httpx.get(gateway.url + "/v1/compress").status_code == 405
    assert httpx.delete(gateway.url + "/v1/retrieve/abc").status_code == 405
    assert [r.route for r in provider.requests] == routes


def test_breakpoints_stay_where_the_caller_put_them_and_never_exceed_four(
    provider: FakeProvider, gateway: Sidecar, tenant: str
) -> None:
    mark = {"type": "ephemeral"}
    history = anthropic_history()
    history[0] = {
        "role": "user",
        "content": [{"type": "text", "text": "Why?", "cache_control": mark}],
    }
    history[2]["content"][0]["cache_control"] = mark
    system = [{"type": "text", "text": f"part {i}", "cache_control": mark} for i in range(3)]
    body = {"model": "m", "max_tokens": 8, "system": system, "messages": history}
    headers = {"x-api-key": "k", "x-headroom-user-id": tenant}
    assert httpx.post(gateway.url + "/v1/messages", json=body, headers=headers).status_code == 200
    sent = provider.generations()[-1]
    assert sent.body.count(b'"cache_control"') == 4, "3 in system + the latest in messages"
    messages = sent.json()["messages"]
    assert "cache_control" not in messages[0]["content"][0]
    assert messages[2]["content"][0]["cache_control"] == mark
    assert sent.json()["system"] == system


def test_openai_chat_streamed_and_not(provider: FakeProvider, gpt: openai.OpenAI) -> None:
    history: list[Any] = [
        {"role": "user", "content": "Why are pods failing?"},
        *corpus.tool_turn_openai("call_1", "Bash", BIG_JSON),
    ]
    whole = gpt.chat.completions.create(
        model="gpt-4o", messages=history, extra_headers={"OpenAI-Organization": "org-1"}
    )
    assert whole.choices[0].message.content == provider.default_text
    provider.enqueue(Reply.say("Streaming works."))
    stream = gpt.chat.completions.create(
        model="gpt-4o",
        messages=history,
        stream=True,
        stream_options={"include_usage": True},
        prompt_cache_key="codex-1",
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Streaming works."
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0
    first, second = provider.generations()
    for sent in (first, second):
        body = sent.json()
        assert sent.header("authorization") == "Bearer sk-test"
        assert len(body["messages"][2]["content"]) < len(BIG_JSON) / 3
        assert body["tools"][-1]["function"]["name"] == RETRIEVE
    assert second.json()["prompt_cache_key"] == "codex-1"
    assert first.header("openai-organization") == "org-1"


def test_openai_responses_codex_items_streamed_and_not(
    provider: FakeProvider, gpt: openai.OpenAI
) -> None:
    items: list[Any] = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Why are pods failing?"}],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "shell",
            "arguments": json.dumps({"command": ["kubectl", "get", "pods", "-o", "json"]}),
        },
        {"type": "function_call_output", "call_id": "call_1", "output": BIG_JSON},
    ]
    whole = gpt.responses.create(model="gpt-5", input=items, prompt_cache_key="codex-s")
    assert whole.output_text == provider.default_text
    provider.enqueue(Reply.say("Streamed."))
    with gpt.responses.stream(model="gpt-5", input=items) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "Streamed." and final.usage is not None and final.usage.input_tokens > 0
    short = gpt.responses.create(model="gpt-5", input="just a string")
    assert short.output_text == provider.default_text
    sent = provider.generations()
    for request in sent[:2]:
        body = request.json()
        assert [i["type"] for i in body["input"]] == [i["type"] for i in items]
        assert body["input"][:2] == items[:2]
        output = body["input"][2]["output"]
        assert len(output) < len(BIG_JSON) / 3 and "Retrieve original: hash=" in output
        assert body["tools"][-1]["name"] == RETRIEVE and body["tools"][-1]["type"] == "function"
    assert sent[2].json()["input"] == "just a string", "nothing to compress: sent as is"
    assert "tools" not in sent[2].json()


def test_metrics_count_requests_and_provider_usage(
    provider: FakeProvider, gateway: Sidecar, claude: anthropic.Anthropic
) -> None:
    with httpx.Client() as client:
        before = metric(
            client, gateway.url, "headroom_proxy_requests_total", 'route="messages",status="200"'
        )
        tokens_before = metric(
            client,
            gateway.url,
            "headroom_proxy_usage_tokens_total",
            'kind="input",route="messages"',
        )
        claude.messages.create(model="m", max_tokens=8, messages=anthropic_history())
        after = metric(
            client, gateway.url, "headroom_proxy_requests_total", 'route="messages",status="200"'
        )
        tokens_after = metric(
            client,
            gateway.url,
            "headroom_proxy_usage_tokens_total",
            'kind="input",route="messages"',
        )
        text = client.get(gateway.url + "/metrics").text
    assert after == before + 1
    assert tokens_after - tokens_before == provider.generations()[0].usage.input_tokens
    for name in (
        "time_to_first_byte_seconds",
        "upstream_latency_seconds",
        "open_streams",
        "retrieve_rounds_total",
    ):
        assert f"headroom_proxy_{name}" in text


def test_bypass_sends_the_body_as_is_and_hop_by_hop_headers_stop_here(
    provider: FakeProvider, gateway: Sidecar, tenant: str
) -> None:
    raw = json.dumps({"model": "m", "max_tokens": 8, "messages": anthropic_history()}).encode()
    headers = {"x-api-key": "k", "content-type": "application/json", "x-headroom-bypass": "true",
               "x-headroom-user-id": tenant, "connection": "keep-alive, x-hop",
               "x-hop": "1", "proxy-authorization": "Basic abc", "te": "trailers",
               "x-custom": "kept"}  # fmt: skip
    assert httpx.post(gateway.url + "/v1/messages", content=raw, headers=headers).is_success
    [sent] = provider.generations()
    assert sent.body == raw
    names = sent.header_names()
    assert not {"x-hop", "proxy-authorization", "te", "x-headroom-bypass"} & set(names)
    assert sent.header("x-custom") == "kept"


def test_responses_custom_tool_output_is_compressed_and_reasoning_items_pass_as_sent(
    provider: FakeProvider, gateway: Sidecar, tenant: str
) -> None:
    log = corpus.build_log(600)
    items = [
        {"type": "message", "role": "user", "content": "Fix the build."},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque=="},
        {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch",
         "input": "*** Begin Patch\n*** End Patch"},
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": log},
    ]  # fmt: skip
    headers = {"authorization": "Bearer k", "x-headroom-user-id": tenant}
    body = {"model": "gpt-5", "input": items, "store": False}
    assert httpx.post(gateway.url + "/v1/responses", json=body, headers=headers).is_success
    sent = provider.generations()[-1].json()["input"]
    assert sent[:3] == items[:3]
    assert sent[3]["call_id"] == "call_p" and len(sent[3]["output"]) < len(log) / 3
