"""Cache-cold compaction across two replicas sharing a real Redis: the "last seen" record
one replica writes decides what the other does, and both replay the compacted bytes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from adapters.settings import Settings
from adapters.stores.redis_sessions import RedisSessionStore
from core.engines import HeadroomEngines
from core.policy import CompressOptions
from core.service import CompressionService, CompressRequest, CompressResponse
from tests import corpus
from tests.unit.fakes import DictOriginalStore, RecordingTelemetry

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[Clock, list[CompressionService]]]:
    settings = Settings(redis_url=redis_url, cluster_id=f"c{uuid.uuid4().hex[:8]}")
    clock, engines, originals = Clock(), HeadroomEngines(), DictOriginalStore()
    stores = [RedisSessionStore.from_settings(settings) for _ in range(2)]
    services = [
        CompressionService(
            engines, store, originals, RecordingTelemetry(), ThreadPoolExecutor(2), clock=clock
        )  # fmt: skip
        for store in stores
    ]
    yield clock, services
    for store in stores:
        await store.aclose()


def history() -> list[dict[str, Any]]:
    step = corpus.tool_turn_anthropic
    return [
        {"role": "user", "content": "fix it"},
        *step("r1", "Read", corpus.file_read(200), {"file_path": "a.py"}),
        *step("e1", "Edit", "updated", {"file_path": "a.py", "old_string": "x"}),
        *step("r2", "Read", corpus.file_read(210), {"file_path": "a.py"}),
    ]


async def send(
    service: CompressionService, messages: list[dict[str, Any]], session: str
) -> CompressResponse:
    request = CompressRequest(messages, "claude-sonnet-4-5", CompressOptions(), session_id=session)
    return await service.compress(request)


async def test_a_replica_compacts_after_another_replicas_turn_went_cold(
    replicas: tuple[Clock, list[CompressionService]],
) -> None:
    clock, (one, two) = replicas
    session, messages = uuid.uuid4().hex, history()
    first = await send(one, messages, session)

    clock.now += 120  # warm: the other replica replays byte for byte
    assert (await send(two, messages, session)).messages_json == first.messages_json

    clock.now += 301  # cold: the other replica compacts the stale Read
    cold = await send(two, messages, session)
    assert cold.messages_json[2] != first.messages_json[2]
    assert "an earlier Read of a.py was omitted" in cold.messages_json[2]
    assert cold.messages_json[-1] == first.messages_json[-1]  # the latest Read is kept

    clock.now += 30  # warm again: the first replica replays the compacted bytes
    more = [*messages, *corpus.tool_turn_anthropic("t1", "Bash", "ok", {"command": "true"})]
    later = await send(one, more, session)
    assert later.messages_json[: len(cold.messages_json)] == cold.messages_json
