"""The service under hostile input and overload: exact passthrough, option-aware replay,
surrogates, shedding, bounded work per block."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from core.admission import Admission
from core.policy import CompressOptions
from core.service import CompressionService, CompressRequest, CompressResponse, Limits
from tests import corpus
from tests.unit.conftest import ServiceKit


def run(kit: ServiceKit, messages: list[dict[str, Any]], **kwargs: Any) -> CompressResponse:
    request = CompressRequest(messages=messages, model="gpt-4o", **kwargs)
    return asyncio.run(kit.service.compress(request))


def tool_step(kind: str = "app_log", size: int = 400) -> list[dict[str, Any]]:
    output = corpus.CONTENT[kind](size)
    return [{"role": "user", "content": "look"}, *corpus.tool_turn_openai("c1", "Bash", output)]


def raw_texts(messages: list[dict[str, Any]]) -> tuple[str, ...]:
    """Spelled the way a client might: spaced, escaped, numbers as written."""
    return tuple(json.dumps(m, indent=1, ensure_ascii=True) for m in messages)


def test_unchanged_messages_come_back_as_the_callers_own_text(kit: ServiceKit) -> None:
    messages = tool_step()
    messages[0]["content"] = "café"
    raw = raw_texts(messages)
    response = run(kit, messages, raw_messages=raw)
    assert response.outcome == "compressed"
    assert response.messages_json[:2] == list(raw[:2])  # user + assistant: untouched
    assert response.messages_json[2] != raw[2]  # the tool output was rewritten
    again = run(kit, messages, raw_messages=raw)  # replayed: still the caller's own text
    assert again.messages_json == response.messages_json


@pytest.mark.parametrize("outcome", ["bypassed", "failed_open"])
def test_bypass_and_fail_open_answer_the_whole_input_as_sent(engines: Any, outcome: str) -> None:
    kit = ServiceKit(engines, deadline=1e-9)
    messages = tool_step()
    raw = raw_texts(messages)
    response = run(kit, messages, raw_messages=raw, bypass=outcome == "bypassed")
    assert response.outcome == outcome
    assert response.messages_json == list(raw)


def test_fail_open_with_a_lone_surrogate_still_encodes(engines: Any) -> None:
    kit = ServiceKit(engines, deadline=1e-9)
    messages = [{"role": "user", "content": "bad \ud800 half"}]
    response = run(kit, messages)
    assert response.outcome == "failed_open"
    assert json.loads(response.body())["messages"] == messages


def test_lone_surrogates_do_not_stop_compression_elsewhere(kit: ServiceKit) -> None:
    messages = tool_step()
    messages[0]["content"] = "half a pair: \ud83d"
    messages[1]["tool_calls"][0]["id"] = messages[2]["tool_call_id"] = "c\udc00"
    messages.append({"role": "tool", "tool_call_id": "x", "content": "\ud800" * 600})
    response = run(kit, messages)
    assert response.outcome == "compressed"
    body = json.loads(response.body())  # valid UTF-8 JSON, surrogates as escapes
    assert body["messages"][0] == messages[0] and body["messages"][3] == messages[3]
    assert body["messages"][2]["tool_call_id"] == "c\udc00"


def test_a_block_over_the_size_cap_passes_through_without_an_engine(engines: Any) -> None:
    kit = ServiceKit(engines)
    kit.service._limits = Limits(max_block_chars=1000)
    response = run(kit, tool_step("app_log", 400))
    assert response.outcome == "passthrough" and response.tokens_saved == 0


def test_user_text_compressed_under_the_option_is_not_replayed_without_it(
    kit: ServiceKit,
) -> None:
    messages = [{"role": "user", "content": corpus.pytest_verbose(1500)}, *tool_step()[1:]]
    asked = run(kit, messages, options=CompressOptions(compress_user_messages=True))
    assert json.loads(asked.messages_json[0]) != messages[0]
    plain = run(kit, messages)
    assert json.loads(plain.messages_json[0]) == messages[0]
    assert plain.messages_json[2] == asked.messages_json[2]  # the tool output still replays


def test_protect_recent_and_frozen_messages_are_never_replayed_compressed(
    kit: ServiceKit,
) -> None:
    messages = tool_step()
    first = run(kit, messages)
    assert json.loads(first.messages_json[2]) != messages[2]
    protected = run(kit, messages, options=CompressOptions(protect_recent=1))
    assert json.loads(protected.messages_json[2]) == messages[2]
    frozen = run(kit, messages, options=CompressOptions(frozen_message_count=3))
    assert json.loads(frozen.messages_json[2]) == messages[2]
    # Unprotected again: what was sent last (the message as it is) is what stays cached.
    assert run(kit, messages).messages_json == frozen.messages_json


def test_overload_sheds_new_work_but_replay_never_waits(engines: Any) -> None:
    kit = ServiceKit(engines)
    kit.service.admission = Admission(slots=1, max_wait_seconds=0.05, max_waiting=4)
    history = tool_step()
    first = run(kit, history)
    kit.service.admission.slots = 0  # every slot taken from now on
    assert run(kit, history).messages_json == first.messages_json  # replayed, no slot
    new = tool_step("json", 50)
    started = time.perf_counter()
    shed = run(kit, new)
    assert shed.outcome == "shed" and time.perf_counter() - started < 1
    assert [json.loads(t) for t in shed.messages_json] == new
    assert kit.telemetry.last.outcome == "shed"


class CountingEngines:
    """The real engines, counting the blocks handed to them."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.blocks = 0

    def compress(self, *args: Any, **kwargs: Any) -> Any:
        self.blocks += 1
        return self.inner.compress(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_work_stops_between_blocks_once_the_deadline_passes(engines: Any) -> None:
    """Many blocks, a short deadline: the worker gives up instead of finishing them all.
    Counted in blocks, not seconds, so a slow machine cannot make it pass or fail."""
    counting = CountingEngines(engines)
    kit = ServiceKit(counting, deadline=0.3)  # type: ignore[arg-type]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for i in range(80):  # ~8 s of engine work, uninterrupted
        output = corpus.kubectl_pods_json(300, seed=i)
        messages += corpus.tool_turn_openai(f"c{i}", "Bash", output)
    service: CompressionService = kit.service

    async def serve_then_watch_the_slot() -> tuple[str, int]:
        """As in a server, the event loop lives on after the answer: the worker hands its
        slot back through it (a closed loop would leave the slot counted forever)."""
        response = await service.compress(CompressRequest(messages, "gpt-4o"))
        blocks_at_answer = counting.blocks
        deadline = time.monotonic() + 60
        while service.admission.active and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return response.outcome, counting.blocks - blocks_at_answer

    outcome, blocks_after_answer = asyncio.run(serve_then_watch_the_slot())
    assert outcome == "failed_open" and service.admission.active == 0
    # the deadline had passed when the answer went: the worker finished the block it was in
    # (at most one more started in the instant before) and started none of the others
    assert blocks_after_answer <= 1 and counting.blocks < 80
