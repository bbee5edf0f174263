"""Shared state failing for real: servers stopped, restarted, or black-holed.

A broken store may cost replay or CCR markers, never a request: answers stay 200 with every
message, readiness stays 200 (saying "degraded"), and everything recovers by itself when the
server returns, without restarting the sidecar.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.settings import Settings
from adapters.stores.redis_sessions import RedisSessionStore
from core.ports import StoreUnavailable
from tests.corpus import agent_session
from tests.integration.helpers import compress, metric, retrieve
from tests.integration.servers import (
    SIDECAR_TIMEOUTS,
    RedisServer,
    SeaweedS3,
    hanging_listener,
    shared_state_env,
)
from tests.processes import Sidecar

pytestmark = pytest.mark.integration
STORE_ERRORS = "headroom_store_errors_total"
RECOVERY_SECONDS = 30.0  # a shared CI machine restarts servers slowly


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def ready(http: httpx.Client, sidecar: Sidecar) -> dict[str, Any]:
    response = http.get(f"{sidecar.url}/ready")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.anyio
async def test_redis_store_fails_fast_while_down_and_recovers_by_itself(
    redis_control: RedisServer,
) -> None:
    store = RedisSessionStore.from_settings(Settings(redis_url=redis_control.url,
                                                     redis_timeout_seconds=0.25))  # fmt: skip
    try:
        await store.put_many({"k": b"v"}, 60)  # the pool now holds a live connection
        redis_control.stop()
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable):
            await store.get_many(["k"])
        assert time.perf_counter() - started < 2.0  # bounded by the timeout, not the OS's
        started = time.perf_counter()
        for _ in range(20):  # circuit open: each call gives up at once
            with pytest.raises(StoreUnavailable):
                await store.get_many(["k"])
        assert time.perf_counter() - started < 1.0  # well under 20 timeouts (5 s)
        assert await store.ping() is False

        redis_control.start()
        deadline = time.monotonic() + RECOVERY_SECONDS
        while True:
            try:
                await store.put_many({"k": b"again"}, 60)
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline, "never recovered after Redis came back"
                time.sleep(0.2)
        assert await store.get_many(["k"]) == [b"again"]
        assert await store.ping() is True
    finally:
        await store.aclose()


def test_redis_down_mid_session_costs_replay_only_and_replay_returns(
    replicas: tuple[Sidecar, Sidecar],
    redis_control: RedisServer,
    http: httpx.Client,
    tenant: str,
) -> None:
    fmt = "openai"
    session = agent_session(30, fmt, seed=31)
    turn_iter = iter(enumerate(session))

    def next_turn() -> tuple[Sidecar, int, list[str]]:
        turn, messages = next(turn_iter)
        replica = replicas[turn % 2]
        answer = compress(http, replica.url, messages, fmt, tenant)
        assert answer.status == 200, replica.log_tail()
        assert len(answer.messages) == len(messages)
        assert answer.outcome != "failed_open"
        return replica, answer.replayed, answer.messages

    for _ in range(6):
        _, _, last = next_turn()
    errors_before = [metric(http, r.url, STORE_ERRORS, 'store="session"') for r in replicas]

    redis_control.stop()
    for _ in range(8):
        _, replayed, last = next_turn()
        assert replayed == 0  # nothing to replay from, but the answer is whole
    for replica, before in zip(replicas, errors_before, strict=True):
        assert metric(http, replica.url, STORE_ERRORS, 'store="session"') > before
        body = ready(http, replica)
        assert body["shared_state"] == "degraded" and body["stores"]["sessions"] is False
        assert http.get(f"{replica.url}/live").status_code == 200

    redis_control.start()
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:  # the first turns after the restart refill Redis; then replay resumes
        previous = last
        _, replayed, last = next_turn()
        if replayed and replayed == len(previous):
            assert last[:replayed] == previous
            break
        assert time.monotonic() < deadline, "replay never resumed after Redis came back"
        time.sleep(0.3)  # turns arrive at agent pace, not in a tight loop
    for replica in replicas:
        assert readiness_returns(http, replica, RECOVERY_SECONDS)


def test_s3_down_in_ccr_mode_falls_back_to_lossless_and_markers_return(
    replicas: tuple[Sidecar, Sidecar],
    s3_control: SeaweedS3,
    http: httpx.Client,
    tenant: str,
) -> None:
    fmt = "anthropic"
    session = agent_session(70, fmt, seed=23)
    errors_before = [metric(http, r.url, STORE_ERRORS, 'store="originals"') for r in replicas]
    s3_control.stop()
    fallbacks = 0
    for turn, messages in enumerate(session[:10]):
        answer = compress(http, replicas[turn % 2].url, messages, fmt, tenant, mode="ccr")
        assert answer.status == 200 and len(answer.messages) == len(messages)
        assert answer.markers == [] and answer.body["ccr_hashes"] == []
        assert not any("Retrieve original: hash=" in m for m in answer.messages)
        fallbacks += any(t.endswith(":lossless_fallback")
                         for t in answer.body["transforms_applied"])  # fmt: skip
    assert fallbacks > 0, "no lossy block was attempted while S3 was down"
    for replica, before in zip(replicas, errors_before, strict=True):
        assert metric(http, replica.url, STORE_ERRORS, 'store="originals"') > before
        body = ready(http, replica)
        assert body["shared_state"] == "degraded" and body["stores"]["originals"] is False

    s3_control.start()  # S3 answers at once; its volume may take a while to accept writes
    resolved: set[str] = set()
    deadline = time.monotonic() + RECOVERY_SECONDS
    for turn, messages in enumerate(session[10:], start=10):
        writer, reader = replicas[turn % 2], replicas[(turn + 1) % 2]
        answer = compress(http, writer.url, messages, fmt, tenant, mode="ccr")
        assert answer.status == 200 and len(answer.messages) == len(messages)
        for key in answer.markers:
            assert resolves(http, reader, key, tenant, deadline), key
            resolved.add(key)
        if len(resolved) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # agent pace: the 60 turns outlast the deadline
    assert resolved, "no CCR marker came back after S3 returned"
    for replica in replicas:
        assert readiness_returns(http, replica, RECOVERY_SECONDS)


def readiness_returns(http: httpx.Client, sidecar: Sidecar, timeout: float) -> bool:
    """/ready says `ok` again within `timeout` (its probe of a store runs on each call)."""
    deadline = time.monotonic() + timeout
    while ready(http, sidecar)["shared_state"] != "ok":
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def resolves(http: httpx.Client, sidecar: Sidecar, key: str, tenant: str, until: float) -> bool:
    """The hash resolves on this replica. Right after S3 returns, a replica whose circuit is
    still open answers 503 (unavailable, never 404) until its next probe: retry until then."""
    while True:
        found = retrieve(http, sidecar.url, key, tenant)
        if found.status_code == 200:
            return True
        assert found.status_code == 503, (found.status_code, found.text)
        if time.monotonic() > until:
            return False
        time.sleep(0.2)


def test_black_holed_stores_are_bounded_by_their_timeouts(
    tmp_path_factory: pytest.TempPathFactory, http: httpx.Client, tenant: str
) -> None:
    """Redis and S3 endpoints that accept connections and never answer."""
    with hanging_listener() as port:
        env = shared_state_env(f"redis://127.0.0.1:{port}/0", f"http://127.0.0.1:{port}",
                               cluster_id=f"hang-{uuid.uuid4().hex[:6]}")  # fmt: skip
        env.update(SIDECAR_TIMEOUTS)
        env["HEADROOM_DEADLINE_SECONDS"] = "10"
        sidecar = Sidecar(env, workdir=tmp_path_factory.mktemp("hang"))
        sidecar.start()
        try:
            started = time.perf_counter()
            body = ready(http, sidecar)
            assert time.perf_counter() - started < 2.0
            assert body["shared_state"] == "degraded"
            took = []
            for messages in agent_session(6, "openai", seed=23):
                started = time.perf_counter()
                answer = compress(http, sidecar.url, messages, "openai", tenant, mode="ccr")
                took.append(time.perf_counter() - started)
                assert answer.status == 200 and len(answer.messages) == len(messages)
                assert answer.outcome != "failed_open", "hit the 10 s deadline"
                assert answer.markers == []
            # At worst Redis 0.25 s + the S3 budget 2 x 1.0 s + compression: far below the
            # deadline; while the circuits are open, turns do not wait at all.
            assert max(took) < 4.0, took
            assert sorted(took)[len(took) // 2] < 1.0, took
            assert http.get(f"{sidecar.url}/live").status_code == 200
        finally:
            sidecar.stop()
