"""The compression use case with real headroom engines and in-memory ports."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from core.admission import Admission
from core.policy import CompressOptions
from core.service import CompressRequest, CompressResponse
from tests import corpus
from tests.unit.conftest import ServiceKit, kit_with_text
from tests.unit.fakes import BrokenSessionStore, ExplodingTextCompressor, SlowTextCompressor


def run(kit: ServiceKit, messages: list[dict[str, Any]], **kwargs: Any) -> CompressResponse:
    request = CompressRequest(messages=messages, model=kwargs.pop("model", "gpt-4o"), **kwargs)
    return asyncio.run(kit.service.compress(request))


def wire(messages: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(m, ensure_ascii=False, separators=(",", ":")) for m in messages]


def one_tool_step(kind: str, size: int, fmt: str = "openai", tool: str = "Bash") -> list[dict]:
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    return [{"role": "user", "content": "look"}] + step("call_1", tool, corpus.CONTENT[kind](size))


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
@pytest.mark.parametrize("session_id", [None, "s-1"])
def test_every_previously_sent_message_comes_back_byte_identical(
    kit: ServiceKit, fmt: str, session_id: str | None
) -> None:
    sent: list[str] = []
    for history in corpus.agent_session(24, fmt=fmt):
        response = run(kit, history, session_id=session_id)
        assert response.messages_json[: len(sent)] == sent
        assert len(response.messages_json) == len(history)
        sent = response.messages_json
    assert kit.telemetry.last.messages_replayed == len(history) - 2
    assert kit.telemetry.last.tokens_after < 0.6 * kit.telemetry.last.tokens_before


def test_replayed_prefix_survives_a_cleared_session_store(kit: ServiceKit) -> None:
    """Compression is deterministic per block, so even lost state rebuilds the same bytes."""
    session = corpus.agent_session(10)
    first = run(kit, session[-1]).messages_json
    kit.sessions._entries.clear()
    assert run(kit, session[-1]).messages_json == first


def test_follow_up_turn_only_compresses_the_new_message(kit: ServiceKit) -> None:
    session = corpus.agent_session(12)
    run(kit, session[-2])
    run(kit, session[-1])
    report = kit.telemetry.last
    assert report.messages_replayed == len(session[-2])
    assert report.messages_new == 2


def test_sessions_are_scoped_by_tenant(kit: ServiceKit) -> None:
    history = corpus.agent_session(4)[-1]
    run(kit, history, tenant="a")
    run(kit, history, tenant="b")
    assert kit.telemetry.last.messages_replayed == 0
    run(kit, history, tenant="a")
    assert kit.telemetry.last.messages_replayed == len(history)


def test_caller_that_sends_back_our_output_still_gets_a_replay(kit: ServiceKit) -> None:
    session = corpus.agent_session(6)
    compressed = run(kit, session[-2]).messages()
    follow_up = compressed + session[-1][len(session[-2]) :]
    response = run(kit, follow_up)
    assert kit.telemetry.last.messages_replayed == len(compressed)
    assert response.messages_json[: len(compressed)] == wire(compressed)


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
@pytest.mark.parametrize(
    ("kind", "size", "least_saved"),
    [("json", 300, 0.60), ("build_log", 3000, 0.65), ("pytest", 2000, 0.65),
     ("cargo", 2000, 0.65), ("app_log", 2000, 0.65)],
)  # fmt: skip
def test_savings_meet_the_targets(
    kit: ServiceKit, fmt: str, kind: str, size: int, least_saved: float
) -> None:
    response = run(kit, one_tool_step(kind, size, fmt))
    assert 1 - response.compression_ratio >= least_saved, response.transforms_applied


@pytest.mark.parametrize("tool", ["Grep", "Bash"])
def test_grep_output_is_folded_losslessly(kit: ServiceKit, tool: str) -> None:
    output = corpus.grep_output(800)
    response = run(kit, one_tool_step("grep", 800, tool=tool))
    assert 1 - response.compression_ratio >= 0.20
    from headroom.transforms.lossless_compaction import search_unheading

    assert search_unheading(response.messages()[-1]["content"]) == output


def test_grep_output_is_cut_only_where_it_stays_retrievable(kit: ServiceKit) -> None:
    response = run(kit, one_tool_step("grep", 800), options=CompressOptions(ccr=True))
    assert 1 - response.compression_ratio >= 0.9 and len(response.ccr_hashes) == 1


def test_byte_exact_tools_user_and_system_text_are_untouched(kit: ServiceKit) -> None:
    big = corpus.build_log(2000)
    messages = [
        {"role": "system", "content": big},
        {"role": "user", "content": big},
        *corpus.tool_turn_openai("call_r", "Read", corpus.file_read(1500)),
        *corpus.tool_turn_openai("call_e", "Edit", big),
    ]
    response = run(kit, messages)
    assert response.messages_json == wire(messages)


def test_user_text_is_compressed_only_when_asked(kit: ServiceKit) -> None:
    messages = [{"role": "user", "content": corpus.pytest_verbose(1500)}]
    assert run(kit, messages).tokens_saved == 0
    options = CompressOptions(compress_user_messages=True)
    assert run(kit, messages, options=options).tokens_saved == 0  # replayed: already sent raw
    assert run(kit, messages, options=options, session_id="new").tokens_saved > 0


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_error_output_is_kept_verbatim(kit: ServiceKit, fmt: str) -> None:
    error = "Traceback (most recent call last):\n" + "\n".join(
        f'  File "app/{i}.py", line {i}, in handler\n    raise Timeout()' for i in range(60)
    )
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    messages = [{"role": "user", "content": "why"}, *step("call_x", "Bash", error)]
    if fmt == "anthropic":
        messages[-1]["content"][0]["is_error"] = True
    assert run(kit, messages).messages_json == wire(messages)


def test_frozen_and_protected_messages_pass_through(kit: ServiceKit) -> None:
    messages = [{"role": "user", "content": "go"}]
    for i in range(3):
        messages += corpus.tool_turn_openai(f"call_{i}", "Bash", corpus.pytest_verbose(800 + i))
    frozen = run(kit, messages, options=CompressOptions(frozen_message_count=5))
    assert frozen.messages_json[:5] == wire(messages[:5])
    assert frozen.messages_json[6] != wire(messages[6:7])[0]
    kit.sessions._entries.clear()
    protected = run(kit, messages, options=CompressOptions(protect_recent=2))
    assert protected.messages_json[5:] == wire(messages[5:])
    assert protected.messages_json[2] != wire(messages[2:3])[0]


def test_ccr_mode_stores_every_original_before_returning_its_marker(kit: ServiceKit) -> None:
    output = corpus.app_log(1500)
    messages = [{"role": "user", "content": "go"},
                *corpus.tool_turn_openai("call_1", "Bash", output)]  # fmt: skip
    response = run(kit, messages, options=CompressOptions(ccr=True), tenant="t1")
    assert len(response.ccr_hashes) == 1
    key = response.ccr_hashes[0]
    assert f"Retrieve original: hash={key}" in response.messages()[-1]["content"]
    assert asyncio.run(kit.service.retrieve("t1", key)) == output
    assert asyncio.run(kit.service.retrieve("t2", key)) is None


def test_default_mode_emits_no_markers(kit: ServiceKit) -> None:
    response = run(kit, one_tool_step("app_log", 1500))
    assert response.ccr_hashes == []
    assert "hash=" not in response.messages()[-1]["content"]
    assert kit.originals.items == {}


def test_ccr_mode_without_an_original_store_falls_back_to_lossless(kit: ServiceKit) -> None:
    kit.originals.down = True
    output = corpus.pytest_verbose(1500)
    response = run(kit, one_tool_step("pytest", 1500), options=CompressOptions(ccr=True))
    content = response.messages()[-1]["content"]
    assert "hash=" not in content and response.ccr_hashes == []
    from headroom.transforms.lossless_compaction import expand_runs

    assert expand_runs(content) == output
    assert not kit.telemetry.last.original_store_ok


def test_a_dead_session_store_costs_the_replay_not_the_request(kit: ServiceKit) -> None:
    kit.service._sessions = broken = BrokenSessionStore()
    response = run(kit, one_tool_step("json", 200))
    assert response.tokens_saved > 0
    assert broken.calls == 1  # no write attempted after the failed read
    assert not kit.telemetry.last.session_store_ok


def test_bypass_returns_the_input_unchanged(kit: ServiceKit) -> None:
    messages = one_tool_step("json", 200)
    response = run(kit, messages, bypass=True)
    assert response.messages_json == wire(messages)
    assert kit.telemetry.last.outcome == "bypassed"


def test_an_engine_error_fails_open() -> None:
    kit = kit_with_text(ExplodingTextCompressor(), deadline=5)
    messages = one_tool_step("prose", 30)
    response = run(kit, messages)
    assert response.messages_json == wire(messages)
    assert kit.telemetry.last.outcome == "failed_open"
    assert kit.telemetry.last.failure == "RuntimeError"


def test_a_blown_deadline_fails_open() -> None:
    kit = kit_with_text(SlowTextCompressor(seconds=1.0), deadline=0.2)
    messages = one_tool_step("prose", 30)
    response = run(kit, messages)
    assert response.messages_json == wire(messages)
    assert kit.telemetry.last.failure == "deadline"


def test_response_body_is_upstream_compatible(kit: ServiceKit) -> None:
    body = json.loads(run(kit, one_tool_step("json", 200)).body())
    assert set(body) == {"messages", "tokens_before", "tokens_after", "tokens_saved",
                         "compression_ratio", "transforms_applied", "ccr_hashes"}  # fmt: skip
    assert body["tokens_saved"] == body["tokens_before"] - body["tokens_after"]
    assert body["compression_ratio"] == pytest.approx(body["tokens_after"] / body["tokens_before"])


def test_a_sampled_json_array_says_how_much_was_left_out(kit: ServiceKit) -> None:
    content = run(kit, one_tool_step("json", 300)).messages()[-1]["content"]
    assert content.endswith(
        "[headroom: 15 of 300 array items shown, including every item with an unusual value "
        "in a field the others share; the rest omitted]"
    )
    assert "CrashLoopBackOff" in content  # the anomalies are what a sample keeps


def test_raw_texts_are_compressed_one_by_one_without_session_state(kit: ServiceKit) -> None:
    log, short = corpus.pytest_verbose(400), "nothing to see"
    first, second = asyncio.run(kit.service.compress_texts([log, short], "gpt-4o"))
    assert first.tokens_after < first.tokens_before / 2 and first.compressed != log
    assert (second.compressed, second.tokens_after) == (short, second.tokens_before)
    assert len(kit.sessions) == 0  # no conversation, nothing to replay
    report = kit.telemetry.reports[-1]
    assert (report.outcome, report.messages_new) == ("compressed", 2)
    assert report.tokens_before == first.tokens_before + second.tokens_before


def test_raw_texts_fail_open_to_the_texts_as_sent(kit: ServiceKit) -> None:
    kit.service.admission = Admission(slots=1, max_wait_seconds=0.0, max_waiting=0)
    kit.service.admission.active = 1  # every slot busy: the request is shed at once
    [result] = asyncio.run(kit.service.compress_texts(["x" * 5000], "gpt-4o"))
    assert result.compressed == "x" * 5000
    assert kit.telemetry.reports[-1].outcome == "shed"


def test_conversations_below_min_tokens_to_compress_pass_through(kit: ServiceKit) -> None:
    messages = [{"role": "user", "content": "pods?"},
                *corpus.tool_turn_openai("c1", "Bash", corpus.kubectl_pods_json(60))]  # fmt: skip
    floor = CompressOptions(min_tokens_to_compress=10**6)
    kept = asyncio.run(kit.service.compress(CompressRequest(messages, "gpt-4o", floor)))
    assert kept.outcome == "passthrough" and kept.messages() == messages
    small = CompressOptions(min_tokens_to_compress=10)
    done = asyncio.run(kit.service.compress(CompressRequest(messages, "gpt-4o", small)))
    assert done.outcome == "compressed"
