"""The headroom_retrieve tool definition: the same bytes every call, in each provider's shape."""

from __future__ import annotations

import json

import pytest

from core import ccr


@pytest.mark.parametrize("provider", ["anthropic", "openai", "openai_responses"])
def test_the_tool_is_byte_stable_and_a_fresh_copy(provider: str) -> None:
    first, second = ccr.retrieve_tool(provider), ccr.retrieve_tool(provider)
    assert json.dumps(first) == json.dumps(second)
    assert first is not second
    text = json.dumps(first)
    assert ccr.TOOL_NAME in text and '"required": ["hash"]' in text


def test_shapes_match_each_api() -> None:
    assert set(ccr.retrieve_tool("anthropic")) == {"name", "description", "input_schema"}
    assert ccr.retrieve_tool("openai")["function"]["name"] == ccr.TOOL_NAME
    assert ccr.retrieve_tool("openai_responses")["type"] == "function"
    with pytest.raises(ValueError):
        ccr.retrieve_tool("gemini")


def test_retrieval_text_answers_or_says_why_not() -> None:
    original = "alpha ok\nbeta FAILED\ngamma ok"
    assert ccr.retrieval_text("ab" * 12, original) == original
    assert ccr.retrieval_text("ab" * 12, original, "failed") == "beta FAILED"
    assert ccr.retrieval_text("ab" * 12, original, "nomatch") == original
    assert "unknown or has expired" in ccr.retrieval_text("ab" * 12, None)
