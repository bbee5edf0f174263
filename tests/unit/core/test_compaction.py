"""Cache-cold compaction: stale history is rewritten only after the provider cache expired."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from adapters.stores.memory_sessions import MemorySessionStore
from core import ccr
from core.compaction import LastSeen, anchor_index, cache_lifetime, call_id_of, stale_results
from core.engines import HeadroomEngines
from core.policy import CompressOptions
from core.service import CompressionService, CompressRequest, CompressResponse, Limits
from tests import corpus
from tests.unit.fakes import DictOriginalStore, RecordingTelemetry


def coding_history(fmt: str) -> list[dict[str, Any]]:
    """Read a.py, run pytest, edit a.py, run pytest again, read b.py."""
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    read = corpus.file_read(200)
    return [
        {"role": "user", "content": "fix it"},
        *step("r1", "Read", read, {"file_path": "a.py"}),
        *step("t1", "Bash", corpus.pytest_verbose(100, 1), {"command": "pytest"}),
        *step("e1", "Edit", "updated", {"file_path": "a.py", "old_string": "x"}),
        *step("t2", "Bash", corpus.pytest_verbose(100, 2), {"command": "pytest"}),
        *step("r2", "Read", corpus.file_read(150, seed=3), {"file_path": "b.py"}),
    ]


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_stale_reads_and_superseded_outputs_are_found(fmt: str) -> None:
    found = {(s.call_id, s.label) for s in stale_results(coding_history(fmt))}
    assert found == {("r1", "compact:stale_read"), ("t1", "compact:superseded")}


def test_a_read_again_is_stale_and_a_view_is_not_an_edit() -> None:
    step = corpus.tool_turn_openai
    history = [
        *step("v1", "str_replace_based_edit_tool", "1\tx", {"command": "view", "path": "c.py"}),
        *step("v2", "str_replace_based_edit_tool", "1\tx", {"command": "view", "path": "c.py"}),
        *step("x1", "Read", "1\tx", {"file_path": "d.py"}),
        *step("x2", "Bash", "ok", {"command": "ls"}),
    ]
    stale = stale_results(history)
    assert [(s.call_id, s.label) for s in stale] == [("v1", "compact:stale_read")]
    assert "read again" in stale[0].note


def test_cache_lifetime_follows_the_callers_ttl() -> None:
    plain = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    hour = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
            ],
        }
    ]
    assert cache_lifetime(plain, 300) == 300
    assert cache_lifetime(hour, 300) == 3600
    assert anchor_index([{"role": "system", "content": "s"}, {"role": "user"}]) == 1


def test_last_seen_round_trips_and_decides_coldness() -> None:
    seen = LastSeen(100.0, 300)
    assert LastSeen.decode(seen.encode()) == seen
    assert not seen.cold_at(400.0) and seen.cold_at(400.5)
    assert LastSeen.decode(None) is None and LastSeen.decode(b"garbage") is None
    assert call_id_of({"role": "user", "content": "x"}, ("content",)) is None


class Clocked:
    def __init__(self, engines: HeadroomEngines, **limits: Any) -> None:
        self.now = 10_000.0
        self.sessions = MemorySessionStore(clock=lambda: self.now)
        self.originals = DictOriginalStore()
        self.service = CompressionService(
            engines, self.sessions, self.originals, RecordingTelemetry(), ThreadPoolExecutor(2),
            limits=Limits(**limits), clock=lambda: self.now,
        )  # fmt: skip

    def send(self, messages: list[dict[str, Any]], after: float, ccr: bool = False,
             **options: Any) -> CompressResponse:  # fmt: skip
        self.now += after
        request = CompressRequest(messages, "gpt-4o", CompressOptions(ccr=ccr, **options))
        return asyncio.run(self.service.compress(request))


def result_texts(response: CompressResponse) -> dict[str, str]:
    texts = {}
    for message in response.messages():
        if message["role"] == "tool":
            texts[message["tool_call_id"]] = message["content"]
        elif isinstance(message.get("content"), list):
            for part in message["content"]:
                if part.get("type") == "tool_result":
                    texts[part["tool_use_id"]] = part["content"]
    return texts


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_warm_cache_keeps_bytes_and_cold_cache_compacts_then_replays(
    engines: HeadroomEngines, fmt: str
) -> None:
    core = Clocked(engines)
    history = coding_history(fmt)
    first = core.send(history[:-2], after=0)
    warm = core.send(history, after=60)
    assert warm.messages_json[: len(first.messages_json)] == first.messages_json
    assert "compact:stale_read" not in warm.transforms_applied

    cold = core.send(history, after=301)
    texts = result_texts(cold)
    assert texts["r1"].startswith("[headroom: an earlier Read of a.py was omitted here")
    assert "the same call with the same arguments was run again" in texts["t1"]
    assert texts["r2"] == result_texts(warm)["r2"]  # the latest Read stays verbatim
    assert cold.tokens_after < warm.tokens_after
    assert cold.messages_json[0] == warm.messages_json[0]  # before the first stale message

    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    later = core.send([*history, *step("z", "Bash", "done", {"command": "true"})], after=30)
    assert later.messages_json[: len(cold.messages_json)] == cold.messages_json


def test_cold_compaction_in_ccr_mode_stores_the_original(engines: HeadroomEngines) -> None:
    core = Clocked(engines)
    history = coding_history("openai")
    core.send(history, after=0, ccr=True)
    cold = core.send(history, after=900, ccr=True)
    read = result_texts(cold)["r1"]
    key = ccr.hashes_in(read)[0]
    assert key in cold.ccr_hashes
    assert asyncio.run(core.service.retrieve("default", key)) == corpus.file_read(200)

    core.originals.down = True  # no store: no marker, the stale Read stays as it was
    again = Clocked(engines)
    again.originals.down = True
    again.send(history, after=0, ccr=True)
    assert result_texts(again.send(history, after=900, ccr=True))["r1"] == corpus.file_read(200)


@pytest.mark.parametrize(
    ("limits", "after", "options"),
    [
        ({}, 299, {}),  # still warm
        ({"cold_compaction": False}, 900, {}),  # switched off
        ({}, 900, {"frozen_message_count": 5}),  # the caller froze the stale messages
        ({"cache_ttl_seconds": 1200}, 900, {}),  # a longer configured lifetime
    ],
)
def test_no_compaction_unless_cold_enabled_and_unfrozen(
    engines: HeadroomEngines, limits: dict[str, Any], after: float, options: dict[str, Any]
) -> None:
    core = Clocked(engines, **limits)
    history = coding_history("openai")
    first = core.send(history, after=0, **options)
    assert core.send(history, after=after, **options).messages_json == first.messages_json


def test_one_hour_cache_control_keeps_the_session_warm(engines: HeadroomEngines) -> None:
    core = Clocked(engines)
    history = coding_history("anthropic")
    history[0] = {
        "role": "user",
        "content": [
            {"type": "text", "text": "fix it", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ],
    }
    first = core.send(history, after=0)
    assert core.send(history, after=1800).messages_json == first.messages_json
    assert core.send(history, after=3601).messages_json != first.messages_json


def test_a_session_never_seen_is_not_compacted(engines: HeadroomEngines) -> None:
    core = Clocked(engines)
    response = core.send(coding_history("openai"), after=0)
    assert not any(t.startswith("compact:") for t in response.transforms_applied)
    assert json.loads(response.messages_json[2])["content"] == corpus.file_read(200)


def test_settings_reach_the_core(tmp_path: Path) -> None:
    from adapters.bootstrap import bootstrap
    from adapters.settings import Settings

    settings = Settings(data_dir=tmp_path, cache_ttl_seconds=600, cold_compaction=False)
    limits = bootstrap(settings).service._limits
    assert (limits.cache_ttl_seconds, limits.cold_compaction) == (600, False)
    assert Settings(data_dir=tmp_path).cache_ttl_seconds == 300


def test_a_cache_lifetime_known_from_outside_the_messages_is_honoured(
    engines: HeadroomEngines,
) -> None:
    """A 1 h breakpoint on the system prompt is not in `messages`; the adapter passes it."""
    core = Clocked(engines)
    history = coding_history("openai")

    def send(after: float) -> CompressResponse:
        core.now += after
        request = CompressRequest(history, "gpt-4o", cache_ttl_seconds=3600)
        return asyncio.run(core.service.compress(request))

    first = send(0)
    assert send(1800).messages_json == first.messages_json
    assert send(3601).messages_json != first.messages_json
