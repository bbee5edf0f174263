"""Error output: small stays verbatim; large loses only lines that carry no signal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core import ccr
from core.engines import ERROR_EDGE_LINES, HeadroomEngines
from core.logs import has_signal, noise_kind
from core.messages import blocks_of, tool_names_by_call_id
from core.policy import ERROR_VERBATIM_MAX_CHARS, Action, CompressOptions, decide
from core.service import CompressRequest
from tests import corpus
from tests.unit.conftest import ServiceKit


def failing_run() -> str:
    return corpus.pytest_verbose(1500, seed=21) + "\n" + corpus.build_log(300, seed=22)


def request(output: str, fmt: str, flagged: bool, tool: str = "Bash") -> list[dict[str, Any]]:
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    messages = [{"role": "user", "content": "go"}, *step("c1", tool, output)]
    if flagged:
        messages[-1]["content"][0]["is_error"] = True
    return messages


def last_text(kit: ServiceKit, messages: list[dict[str, Any]], ccr_mode: bool = False) -> str:
    response = asyncio.run(kit.service.compress(
        CompressRequest(messages, "gpt-4o", CompressOptions(ccr=ccr_mode))))  # fmt: skip
    last = response.messages()[-1]
    return last["content"] if isinstance(last["content"], str) else last["content"][0]["content"]


@pytest.mark.parametrize(("fmt", "flagged"), [("anthropic", True), ("openai", False)])
def test_large_error_output_keeps_every_signal_line_head_and_tail(
    kit: ServiceKit, fmt: str, flagged: bool
) -> None:
    output = "Error: 2 test suites failed\n" + failing_run()  # opens like an error when unflagged
    text = last_text(kit, request(output, fmt, flagged))
    assert len(text) < 0.2 * len(output)
    kept = set(text.splitlines())
    lines = output.splitlines()
    assert [line for line in lines if has_signal(line) and noise_kind(line) is None
            and line not in kept] == []  # fmt: skip
    assert lines[:ERROR_EDGE_LINES] == text.splitlines()[:ERROR_EDGE_LINES]
    assert lines[-ERROR_EDGE_LINES:] == text.splitlines()[-ERROR_EDGE_LINES:]
    assert "passing tests omitted]" in text and "progress lines omitted]" in text


def test_large_error_output_in_ccr_mode_is_retrievable(kit: ServiceKit) -> None:
    output = failing_run()
    text = last_text(kit, request(output, "anthropic", True), ccr_mode=True)
    (key,) = ccr.hashes_in(text)
    assert asyncio.run(kit.service.retrieve("default", key)) == output


def test_error_actions() -> None:
    big, small = "Traceback (most recent call last):\n" + "x\n" * 5000, "Error: boom\n" * 10
    assert len(small) <= ERROR_VERBATIM_MAX_CHARS < len(big)
    for tool, output, options, action in [
        ("Bash", big, CompressOptions(), Action.ERROR),
        ("Bash", small, CompressOptions(), Action.KEEP),
        ("Grep", big, CompressOptions(), Action.LOSSLESS),
        ("Grep", big, CompressOptions(ccr=True), Action.ERROR),
        ("Read", big, CompressOptions(), Action.KEEP),
    ]:
        messages = request(output, "anthropic", True, tool)
        block = blocks_of(2, messages[2], tool_names_by_call_id(messages))[0]
        assert decide(block, options) is action, (tool, len(output), options)


def test_grep_and_webfetch_are_cut_only_in_ccr_mode() -> None:
    messages = request("a.py:1:" + "x" * 900, "openai", False, "WebFetch")
    block = blocks_of(2, messages[2], tool_names_by_call_id(messages))[0]
    assert decide(block, CompressOptions()) is Action.LOSSLESS
    assert decide(block, CompressOptions(ccr=True)) is Action.COMPRESS


def test_error_json_is_only_folded_losslessly(engines: HeadroomEngines) -> None:
    result = engines.compress(corpus.kubectl_pods_json(30), lossless_only=False, error=True)
    assert result.kind == "json" and result.lossy is None and result.lossless is not None


def test_html_keeps_its_title(engines: HeadroomEngines) -> None:
    result = engines.compress(corpus.html_page(40), lossless_only=False)
    if result.lossy is None:
        pytest.fail("trafilatura is a dependency: HTML must be extracted")
    assert result.lossy.text.startswith("Title: Docs\n")
