"""Property-based: whatever conversation comes in, the structure that comes out is intact."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from headroom.transforms import lossless_compaction as fold
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ccr import hashes_in
from core.classify import classify
from core.logs import has_signal, noise_kind
from core.policy import ERROR_VERBATIM_MAX_CHARS, CompressOptions
from core.service import CompressRequest
from tests import corpus
from tests.unit.conftest import ServiceKit

_TOOLS = ["Bash", "Read", "Grep", "Edit", "WebFetch", "kubectl", "mcp__jira__get"]
_KINDS = sorted(corpus.CONTENT)


@st.composite
def conversations(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """Agent conversations in either format: text turns and tool steps of any content."""
    fmt = draw(st.sampled_from(["openai", "anthropic"]))
    messages: list[dict[str, Any]] = [{"role": "user", "content": draw(st.text(max_size=50))}]
    if fmt == "openai" and draw(st.booleans()):
        messages.insert(0, {"role": "system", "content": draw(st.text(max_size=50))})
    for i in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            kind = draw(st.sampled_from(_KINDS))
            output = corpus.CONTENT[kind](draw(st.integers(1, 120)))
            if draw(st.booleans()):
                output += draw(st.text(max_size=40))
            step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
            messages += step(f"call_{i}", draw(st.sampled_from(_TOOLS)), output)
            if fmt == "anthropic" and draw(st.booleans()):
                messages[-1]["content"][0]["is_error"] = True
        else:
            messages.append({"role": "assistant", "content": draw(st.text(max_size=60))})
            messages.append({"role": "user", "content": draw(st.text(max_size=60))})
    return fmt, messages


def _ids(message: dict[str, Any]) -> list[str]:
    found = [c["id"] for c in message.get("tool_calls") or []]
    if "tool_call_id" in message:
        found.append(message["tool_call_id"])
    if isinstance(message.get("content"), list):
        for part in message["content"]:
            found += [part[k] for k in ("id", "tool_use_id") if k in part]
    return found


_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=60, deadline=None, suppress_health_check=_SLOW_OK)
@given(conversation=conversations(), ccr=st.booleans(), compress_users=st.booleans())
def test_structure_survives_compression(
    kit: ServiceKit, conversation: tuple[str, list[dict[str, Any]]], ccr: bool, compress_users: bool
) -> None:
    fmt, messages = conversation
    original = json.loads(json.dumps(messages))
    options = CompressOptions(ccr=ccr, compress_user_messages=compress_users)
    request = CompressRequest(messages=messages, model="gpt-4o", options=options)
    response = asyncio.run(kit.service.compress(request))
    out = response.messages()

    assert messages == original, "the input must not be mutated"
    assert len(out) == len(messages)
    assert [m["role"] for m in out] == [m["role"] for m in messages]
    assert [_ids(m) for m in out] == [_ids(m) for m in messages]
    assert response.tokens_after <= response.tokens_before
    for before, after in zip(messages, out, strict=True):
        assert set(after) == set(before)
        if before["role"] in ("system", "assistant"):
            assert after == before
        if before["role"] == "user" and isinstance(before["content"], str) and not compress_users:
            assert after == before
        if isinstance(before.get("content"), list):
            assert [p.get("type") for p in after["content"]] == [
                p.get("type") for p in before["content"]
            ]
            for part_before, part_after in zip(before["content"], after["content"], strict=True):
                if part_before.get("is_error"):
                    assert_error_safe(part_before, part_after, ccr)
    if not ccr:
        assert response.ccr_hashes == []
    for key in response.ccr_hashes:
        assert asyncio.run(kit.service.retrieve("default", key)) is not None


def assert_error_safe(before: dict[str, Any], after: dict[str, Any], ccr: bool) -> None:
    """Flagged errors stay verbatim when small; when large, every signal line survives (or,
    in ccr mode, the whole text is retrievable through the marker)."""
    text = before.get("content")
    if not isinstance(text, str) or len(text) <= ERROR_VERBATIM_MAX_CHARS:
        assert after == before
        return
    shown = set(after["content"].splitlines())
    if (ccr and hashes_in(after["content"])) or classify(text) == "json":
        return  # retrievable whole, or JSON: error JSON is only ever folded losslessly
    if classify(text) == "search" and after["content"] == fold.search_heading(text):
        return  # the lossless fold (hits grouped under their file) won: nothing dropped
    assert [
        line
        for line in text.splitlines()
        if has_signal(line) and noise_kind(line) is None and line not in shown
    ] == []
