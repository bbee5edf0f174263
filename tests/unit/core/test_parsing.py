"""Request parsing: formats, blocks, options and the errors callers see."""

from __future__ import annotations

import pytest

from core import ccr, replay
from core.classify import classify
from core.errors import InvalidRequest
from core.messages import blocks_of, detect_format, tool_names_by_call_id, validate
from core.policy import Action, CompressOptions, decide
from tests import corpus


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("json", "json"), ("build_log", "log"), ("pytest", "log"), ("cargo", "log"),
     ("app_log", "log"), ("grep", "search"), ("diff", "diff"), ("html", "html"),
     ("prose", "text")],
)  # fmt: skip
def test_corpus_kinds_are_classified(kind: str, expected: str) -> None:
    assert classify(corpus.CONTENT[kind](200)) == expected


def test_formats_are_detected() -> None:
    assert detect_format(corpus.tool_turn_openai("c", "Bash", "x")) == "openai"
    assert detect_format(corpus.tool_turn_anthropic("c", "Bash", "x")) == "anthropic"
    assert detect_format([{"role": "user", "content": "hi"}]) == "openai"


def test_blocks_carry_tool_name_and_error_flag() -> None:
    messages = corpus.tool_turn_anthropic("c1", "Grep", "a.py:1:x")
    messages[1]["content"][0]["is_error"] = True
    (block,) = blocks_of(1, messages[1], tool_names_by_call_id(messages))
    assert (block.tool_name, block.is_error, block.path) == (
        "Grep",
        True,
        ("content", 0, "content"),
    )
    openai = corpus.tool_turn_openai("c2", "Read", "text")
    (block,) = blocks_of(1, openai[1], tool_names_by_call_id(openai))
    assert (block.tool_name, block.kind) == ("Read", "tool_result")


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [("nope", "must be an array"), ([1], "must be an object"),
     ([{"role": "robot", "content": "x"}], "role must be one of"),
     ([{"role": "user", "content": 5}], "content must be"),
     ([{"role": "user", "content": ["x"]}], "content[0] must be an object")],
)  # fmt: skip
def test_malformed_messages_are_rejected_with_a_reason(messages: object, fragment: str) -> None:
    with pytest.raises(InvalidRequest, match=None) as raised:
        validate(messages)
    assert fragment in raised.value.message


@pytest.mark.parametrize(
    "config",
    [{"mode": "zip"}, {"frozen_message_count": -1}, {"frozen_message_count": True},
     {"protect_recent": "2"}, {"target_ratio": 0}, {"compress_user_messages": "yes"}, []],
)  # fmt: skip
def test_bad_config_is_rejected(config: object) -> None:
    with pytest.raises(InvalidRequest):
        CompressOptions.parse(config)


def test_upstream_mode_names_are_accepted() -> None:
    assert CompressOptions.parse({"mode": "ccr"}).ccr
    assert not CompressOptions.parse({"mode": "lossy_inline", "unknown": 1}).ccr


def test_policy_keeps_what_the_agent_needs_exactly() -> None:
    big = "x" * 1000
    msgs = corpus.tool_turn_openai("c", "Edit", big) + corpus.tool_turn_openai("d", "Grep", big)
    names = tool_names_by_call_id(msgs)
    edit, grep = blocks_of(1, msgs[1], names)[0], blocks_of(3, msgs[3], names)[0]
    assert decide(edit, CompressOptions()) is Action.KEEP
    assert decide(grep, CompressOptions()) is Action.LOSSLESS
    small = blocks_of(1, {"role": "tool", "tool_call_id": "z", "content": "tiny"}, {})[0]
    assert decide(small, CompressOptions()) is Action.KEEP


def test_ccr_hashes_are_lowercase_hex_of_upstream_length() -> None:
    key = ccr.content_hash("original")
    assert ccr.is_valid_hash(key) and 12 <= len(key) <= 24 and key == key.lower()
    assert ccr.hashes_in(ccr.with_marker("short", key, 8)) == [key]


def test_tool_calls_parse_in_both_formats() -> None:
    key = ccr.content_hash("x")
    anthropic = {"tool_call": {"id": "t1", "name": "headroom_retrieve", "input": {"hash": key}}}
    openai = {"provider": "openai", "tool_call": {"id": "t2", "function": {
        "name": "headroom_retrieve", "arguments": f'{{"hash": "{key}"}}'}}}  # fmt: skip
    assert ccr.parse_tool_call(anthropic) == ("anthropic", "t1", key)
    assert ccr.parse_tool_call(openai) == ("openai", "t2", key)
    with pytest.raises(InvalidRequest):
        ccr.parse_tool_call({"tool_call": {"name": "other", "input": {"hash": key}}})


def test_replay_entries_round_trip_and_reject_garbage() -> None:
    entry = replay.Entry('{"role":"user","content":"é"}', "ab" * 32, 10, 4, ("h",), ("log:x",))
    assert replay.Entry.decode(entry.encode()) == entry
    assert replay.Entry.decode(b"not json") is None


def test_chain_keys_depend_on_scope_and_whole_prefix() -> None:
    digests = [replay.digest({"role": "user", "content": str(i)}) for i in range(3)]
    a = replay.chain_keys(replay.scope_of("t", None), digests)
    b = replay.chain_keys(replay.scope_of("u", None), digests)
    c = replay.chain_keys(replay.scope_of("t", None), [digests[1], *digests[1:]])
    assert len(set(a) | set(b)) == 6
    assert a[1:] != c[1:]
