"""A long agent session through the proxy: turn after turn the provider receives the bytes it
received last turn as the prefix of this one, even as Claude Code moves its cache breakpoint."""

from __future__ import annotations

import copy
import json
from typing import Any

import anthropic
import httpx
import openai

from tests import corpus
from tests.fake_provider import FakeProvider, Reply
from tests.integration.helpers import metric, wire
from tests.processes import Sidecar

TURNS = 24
BREAKPOINT = {"type": "ephemeral"}
SYSTEM = [{"type": "text", "text": "You are Claude Code.", "cache_control": BREAKPOINT}]
TOOLS = [
    {
        "name": "Bash",
        "description": "Run a command.",
        "input_schema": {"type": "object", "properties": {"cmd": {"type": "string"}}},
    }
]


def claude_code_turn(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history as Claude Code sends it: one breakpoint, on the last block of the last
    message (so it moves every turn)."""
    messages = copy.deepcopy(history)
    last = messages[-1]
    if isinstance(last["content"], str):
        last["content"] = [{"type": "text", "text": last["content"]}]
    last["content"][-1]["cache_control"] = BREAKPOINT
    return messages


def without_breakpoints(message: dict[str, Any]) -> str:
    message = copy.deepcopy(message)
    for block in message["content"] if isinstance(message["content"], list) else []:
        block.pop("cache_control", None)
    return wire(message)


def test_claude_code_session_keeps_a_byte_stable_prefix(
    provider: FakeProvider, claude: anthropic.Anthropic
) -> None:
    provider.model = lambda exchange: Reply.say("ok")
    snapshots = corpus.agent_session(TURNS, fmt="anthropic")
    headers = {"X-Claude-Code-Session-Id": "cc-session-1"}
    sent_sizes, client_sizes = [], []
    for turn, history in enumerate(snapshots):
        if turn >= 5:  # Claude Code also puts role "system" messages inside `messages`
            history = history[:3] + [{"role": "system", "content": "<reminder>"}] + history[3:]
        messages = claude_code_turn(history)
        with claude.messages.stream(
            model="claude-sonnet-4-5",
            max_tokens=64,
            system=SYSTEM,
            tools=TOOLS,
            messages=messages,  # type: ignore[arg-type]
            extra_headers=headers,
        ) as stream:
            assert stream.get_final_text() == "ok"
        client_sizes.append(len(json.dumps(messages)))
        sent_sizes.append(len(provider.generations()[-1].body))

    requests = provider.generations()
    assert len(requests) == TURNS
    for turn in range(1, TURNS):
        before, now = requests[turn - 1], requests[turn]
        previous, current = before.json(), now.json()
        # system and tools: never rewritten, same bytes every turn; the retrieve tool last
        assert current["system"] == SYSTEM and current["tools"][:-1] == TOOLS
        for key in ("system", "tools"):
            assert wire(previous[key]).encode() in before.body
            assert wire(current[key]).encode() in now.body
            assert wire(previous[key]) == wire(current[key])
        # every message sent last turn, but the one that carried the moved breakpoint, comes
        # back as the same bytes at the head of this turn's messages
        head = b",".join(wire(m).encode() for m in previous["messages"][:-1])
        if turn != 5:  # the turn the system message was inserted mid-history
            assert b'"messages":[' + head in now.body, f"prefix changed at turn {turn}"
            assert without_breakpoints(previous["messages"][-1]) == without_breakpoints(
                current["messages"][len(previous["messages"]) - 1]
            )
        # the caller's breakpoints, no more: one on system, one on the last message
        assert now.body.count(b'"cache_control"') == 2
        assert "cache_control" in current["messages"][-1]["content"][-1]
    assert sent_sizes[-1] < 0.6 * client_sizes[-1], "the session was compressed"


def test_codex_like_chat_session_keeps_a_byte_stable_prefix(
    provider: FakeProvider, gpt: openai.OpenAI
) -> None:
    provider.model = lambda exchange: Reply.say("ok")
    snapshots = corpus.agent_session(20, fmt="openai", seed=12)
    for history in snapshots:
        gpt.chat.completions.create(
            model="gpt-4o",
            messages=history,  # type: ignore[arg-type]
            prompt_cache_key="codex-thread-1",
        )
    requests = provider.generations()
    for before, now in zip(requests, requests[1:], strict=False):
        head = b",".join(wire(m).encode() for m in before.json()["messages"])
        assert b'"messages":[' + head + b"," in now.body
        assert (
            before.body[: before.body.index(b'"messages"')]
            == now.body[: now.body.index(b'"messages"')]
        )
        assert before.usage is not None and now.usage is not None
        assert now.usage.cache_read >= before.usage.total - 1, "the provider's cache hits"
    assert len(requests[-1].body) < 0.6 * len(json.dumps(snapshots[-1]))


def test_system_messages_that_come_and_go_cost_no_replay_hit(
    provider: FakeProvider, gateway: Sidecar, claude: anthropic.Anthropic
) -> None:
    """A reminder before the last message, different every turn and gone the next: it reaches
    the provider where the client put it, and every message sent before is still replayed."""
    provider.model = lambda exchange: Reply.say("ok")
    snapshots = corpus.agent_session(12, fmt="anthropic", seed=21)
    replayed = "headroom_replayed_messages_total"
    with httpx.Client() as client:
        before = metric(client, gateway.url, replayed)
        for turn, history in enumerate(snapshots):
            reminder = {"role": "system", "content": f"<reminder turn {turn}>"}
            messages = claude_code_turn([*history[:-1], reminder, history[-1]])
            claude.messages.create(model="claude-sonnet-4-5", max_tokens=8, system=SYSTEM,
                                   messages=messages)  # type: ignore[arg-type]  # fmt: skip
            assert provider.generations()[-1].json()["messages"][-2] == reminder
        after = metric(client, gateway.url, replayed)
    assert after - before == sum(len(history) for history in snapshots[:-1])
