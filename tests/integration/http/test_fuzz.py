"""Property-based fuzzing of the HTTP surface, in process: whatever JSON tree comes in (lone
surrogates, deep nesting, huge numbers, odd types, every block type of both providers), the
answer is never a 5xx, always valid JSON, and a 200 keeps the conversation's structure."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from adapters.bootstrap import bootstrap
from adapters.http.app import create_app
from adapters.settings import Settings
from tests import corpus


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("fuzz")
    services = bootstrap(Settings(data_dir=data, max_body_bytes=2**20))
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        deadline = time.monotonic() + 60
        while test_client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield test_client


# -- JSON trees ------------------------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=()), max_size=24)  # surrogates included
numbers = (st.integers(-(10**40), 10**40)
           | st.floats(allow_nan=False, allow_infinity=False))  # fmt: skip
scalars = st.none() | st.booleans() | numbers | texts
trees = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)  # fmt: skip
outputs = st.sampled_from(sorted(corpus.CONTENT)).flatmap(
    lambda kind: st.integers(1, 80).map(lambda n: corpus.CONTENT[kind](n))
)
tool_texts = texts | outputs | st.tuples(outputs, texts).map("".join)
tool_names = st.sampled_from(["Bash", "Read", "Grep", "Edit", "WebFetch", "kubectl"]) | texts


def deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def rarely(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`rare` about one time in 25 (a plain `|` would pick it half the time)."""
    return st.integers(0, 24).flatmap(lambda n: rare if n == 13 else common)


odd = rarely(trees, st.integers(100, 400).map(deep))  # now and then beyond the depth limit

# -- OpenAI Chat Completions -----------------------------------------------------------------

openai_parts = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": tool_texts}),
    st.fixed_dictionaries({"type": st.just("image_url"),
                           "image_url": st.fixed_dictionaries({"url": texts})}),
    st.fixed_dictionaries({"type": st.just("input_audio"), "input_audio": st.fixed_dictionaries(
        {"data": texts, "format": st.just("wav")})}),
    st.fixed_dictionaries({"type": st.just("file"),
                           "file": st.fixed_dictionaries({"file_id": texts})}),
    st.fixed_dictionaries({"type": st.just("refusal"), "refusal": texts}),
)  # fmt: skip
openai_content = tool_texts | st.lists(openai_parts, max_size=3)
tool_calls = st.lists(st.fixed_dictionaries({
    "id": texts, "type": st.just("function"),
    "function": st.fixed_dictionaries({"name": tool_names,
                                       "arguments": texts | trees.map(json.dumps)}),
}), min_size=1, max_size=2)  # fmt: skip
openai_messages = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "developer", "user"]),
                           "content": openai_content}),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": st.none() | openai_content},
                          optional={"tool_calls": tool_calls}),
    st.fixed_dictionaries({"role": st.just("tool"), "tool_call_id": texts,
                           "content": openai_content}),
)  # fmt: skip

# -- Anthropic Messages ----------------------------------------------------------------------

source = st.fixed_dictionaries({"type": st.just("base64"), "media_type": st.just("image/png"),
                                "data": texts})  # fmt: skip
anthropic_leaf_blocks = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": tool_texts},
                          optional={"cache_control": st.just({"type": "ephemeral"})}),
    st.fixed_dictionaries({"type": st.just("image"), "source": source}),
    st.fixed_dictionaries({"type": st.just("document"), "source": source}),
    st.fixed_dictionaries({"type": st.just("search_result"), "source": texts, "title": texts,
                           "content": st.lists(st.fixed_dictionaries(
                               {"type": st.just("text"), "text": texts}), max_size=2)}),
)  # fmt: skip
anthropic_blocks = st.one_of(
    anthropic_leaf_blocks,
    st.fixed_dictionaries({"type": st.just("tool_use"), "id": texts, "name": tool_names,
                           "input": odd}),
    st.fixed_dictionaries({"type": st.just("tool_result"), "tool_use_id": texts,
                           "content": tool_texts | st.lists(anthropic_leaf_blocks, max_size=3)},
                          optional={"is_error": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("thinking"), "thinking": texts, "signature": texts}),
    st.fixed_dictionaries({"type": st.just("redacted_thinking"), "data": texts}),
    st.fixed_dictionaries({"type": st.just("server_tool_use"), "id": texts,
                           "name": st.just("web_search"), "input": trees}),
    st.fixed_dictionaries({"type": st.just("web_search_tool_result"), "tool_use_id": texts,
                           "content": trees}),
)  # fmt: skip
anthropic_messages = st.fixed_dictionaries({
    "role": st.sampled_from(["user", "assistant", "system"]),
    "content": tool_texts | st.lists(anthropic_blocks, max_size=4),
})  # fmt: skip

# -- whole requests --------------------------------------------------------------------------


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str], dict[str, Any]]:
    messages = draw(st.lists(openai_messages | anthropic_messages, max_size=6))
    for message in messages:
        message.update(draw(st.dictionaries(texts, odd, max_size=1)))  # unknown keys
        if draw(st.integers(0, 24)) == 13:  # now and then a field of the wrong type
            message[draw(st.sampled_from(["role", "content", "tool_calls"]))] = draw(odd)
    body: dict[str, Any] = {"messages": messages}
    body["model"] = draw(rarely(st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "", "x"]), odd))
    body["config"] = draw(st.none() | st.fixed_dictionaries({}, optional={
        "mode": st.sampled_from([None, "ccr", "lossy_inline", "nope"]),
        "protect_recent": st.integers(-1, 3), "frozen_message_count": st.integers(0, 3),
        "compress_user_messages": rarely(st.booleans(), odd),
        "target_ratio": st.floats(0, 1.5, allow_nan=False), "session_id": texts,
    }))  # fmt: skip
    if draw(st.booleans()):
        body.update(draw(st.dictionaries(texts, odd, max_size=2)))
    text = json.dumps(body, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from(
        [None, 1])))  # fmt: skip
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: sent escaped, as JSON allows
        raw = json.dumps(body).encode("ascii")
    headers = draw(st.fixed_dictionaries({}, optional={
        "x-headroom-bypass": st.sampled_from(["1", "yes", "true", "no"]),
        "x-headroom-session-id": st.text("abc123-", min_size=1, max_size=8),
        "x-headroom-user-id": st.text("xyz", min_size=1, max_size=4),
    }))  # fmt: skip
    return raw, headers, body


def strict(data: bytes) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(name)

    return json.loads(data.decode("utf-8"), parse_constant=refuse)


def shape(value: Any) -> Any:
    """The structure with every string blanked: what compression may never change."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return "" if isinstance(value, str) else value


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
@given(requests())
def test_no_input_gets_a_5xx_or_invalid_json(
    client: TestClient, request: tuple[bytes, dict[str, str], dict[str, Any]]
) -> None:
    raw, headers, body = request
    response = client.post("/v1/compress", content=raw,
                           headers={"content-type": "application/json", **headers})  # fmt: skip
    assert response.status_code < 500, response.text
    answer = strict(response.content)
    if response.status_code != 200:
        assert set(answer["error"]) == {"type", "message"}
        return
    # Fail-open is the safety net, not a path: no input may reach it through an error.
    assert response.headers["x-headroom-outcome"] != "failed_open"
    sent = json.loads(raw)["messages"]
    assert len(answer["messages"]) == len(sent)
    for before, after in zip(sent, answer["messages"], strict=True):
        assert shape(after) == shape(before)  # roles, ids' places, types, numbers, keys


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.fixed_dictionaries({"provider": st.sampled_from(["openai", "anthropic"]) | odd,
                              "tool_call": odd | st.fixed_dictionaries({
                                  "id": texts, "name": st.just("headroom_retrieve"),
                                  "input": st.fixed_dictionaries({"hash": texts})})}))  # fmt: skip
def test_retrieve_tool_call_never_5xx(client: TestClient, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode("ascii")
    response = client.post("/v1/retrieve/tool_call", content=raw)
    assert response.status_code < 500, response.text
    strict(response.content)
