"""Strict body parsing: exact message texts, no NaN, bounded depth, never a non-400 error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.json_body import MAX_DEPTH, parse_object
from core.errors import InvalidRequest


def test_message_texts_are_the_bytes_as_sent() -> None:
    first = '{"role":"user","content":"caf\\u00e9 \\ud83d\\ude00","n":1e9}'
    second = '{ "role" : "tool", "big": 12345678901234567890.123, "x": [1.0, -0] }'
    raw = f' {{"model":"m", "messages" : [ {first} ,\n{second}], "config":{{}} }} '.encode()
    body = parse_object(raw)
    assert body.message_texts == (first, second)
    assert body.value["messages"][0]["content"] == "café 😀"
    assert body.value == json.loads(raw)


def test_last_messages_key_wins_as_in_json_loads() -> None:
    body = parse_object(b'{"messages":[{"a":1}],"messages":[{"b":2}, {"c":3}]}')
    assert body.value["messages"] == [{"b": 2}, {"c": 3}]
    assert body.message_texts == ('{"b":2}', '{"c":3}')
    assert parse_object(b'{"messages":[{"a":1}],"messages":"x"}').message_texts is None


@pytest.mark.parametrize(
    "raw",
    [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}', b'{"messages":[{"n":NaN}]}',
     b'{"a":1e999}', b'{"a":-1e400}'],
)  # fmt: skip
def test_non_finite_numbers_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequest, match="Invalid JSON"):
        parse_object(raw)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 990, 5000, 100_000])
def test_nesting_beyond_the_limit_is_a_clear_400(depth: int) -> None:
    raw = b'{"messages":[{"role":"user","content":"x","k":' + b"[" * depth + b"]" * depth + b"}]}"
    with pytest.raises(InvalidRequest, match="nests deeper"):
        parse_object(raw)


def test_nesting_at_the_limit_is_accepted() -> None:
    inner = MAX_DEPTH - 3  # body object, messages array, message object
    raw = b'{"messages":[{"k":' + b"[" * inner + b"]" * inner + b"}]}"
    assert parse_object(raw).message_texts is not None


@pytest.mark.parametrize(
    "raw",
    [b"\xed\xa0\x80", b'{"a":"\xed\xa0\x80"}', b"\xff", b'{"a":1', b'{"a":1}x', b"[1]", b"1",
     b'{"messages":[1,]}', b'{"messages":[1 2]}', b"", b'{"a":"\x01"}', b'{"a"}', b"{,}"],
)  # fmt: skip
def test_malformed_bodies_are_invalid_requests(raw: bytes) -> None:
    with pytest.raises(InvalidRequest):
        parse_object(raw)


def test_lone_surrogate_escapes_parse_and_keep_their_text() -> None:
    body = parse_object(b'{"messages":[{"role":"user","content":"\\ud800"}]}')
    assert body.value["messages"][0]["content"] == "\ud800"
    assert body.message_texts == ('{"role":"user","content":"\\ud800"}',)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=())),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4),
       st.lists(json_values, max_size=4), st.booleans())  # fmt: skip
def test_agrees_with_json_loads_and_texts_reparse(
    extra: dict[str, Any], messages: list[Any], indent: bool
) -> None:
    raw = json.dumps({**extra, "messages": messages}, indent=2 if indent else None).encode()
    body = parse_object(raw)
    assert body.value == json.loads(raw)
    assert body.message_texts is not None
    assert [json.loads(text) for text in body.message_texts] == json.loads(raw)["messages"]
