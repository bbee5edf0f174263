"""RedisSessionStore (and RedisOriginalStore) against a real redis-server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import SSLConnection

from adapters.settings import Settings
from adapters.stores.redis_originals import RedisOriginalStore
from adapters.stores.redis_sessions import RedisSessionStore
from adapters.stores.shared import redis_client

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client to look at what the store wrote."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisSessionStore]:
    settings = Settings(redis_url=redis_url, cluster_id=f"c{uuid.uuid4().hex[:8]}")
    store = RedisSessionStore.from_settings(settings)
    yield store
    await store.aclose()


def keys(n: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(n)]


async def test_round_trip_in_key_order_with_misses(store: RedisSessionStore) -> None:
    k = keys(4)
    values = {k[0]: b'["{\\"role\\":\\"user\\"}",1]', k[2]: bytes(range(256)), k[3]: b""}
    await store.put_many(values, 60)
    assert await store.get_many([k[3], k[1], k[0], k[2]]) == [b"", None, values[k[0]],
                                                              bytes(range(256))]  # fmt: skip
    assert await store.get_many([]) == []
    assert await store.ping() is True


async def test_values_are_stored_as_is_under_the_cluster_namespace(
    store: RedisSessionStore, raw: Redis
) -> None:
    [key] = keys(1)
    await store.put_many({key: b"compact-entry"}, 60)
    stored = await raw.keys(f"hgw:*:s:{key}")
    assert stored == [store.key(key).encode()]
    assert store.key(key).startswith("hgw:c") and store.key(key).endswith(f":s:{key}")
    assert await raw.get(store.key(key)) == b"compact-entry"
    assert 55 <= await raw.ttl(store.key(key)) <= 60


async def test_cluster_ids_do_not_see_each_other(redis_url: str) -> None:
    one = RedisSessionStore.from_settings(Settings(redis_url=redis_url, cluster_id="blue"))
    two = RedisSessionStore.from_settings(Settings(redis_url=redis_url, cluster_id="green"))
    try:
        [key] = keys(1)
        await one.put_many({key: b"blue"}, 60)
        assert await two.get_many([key]) == [None]
        await two.put_many({key: b"green"}, 60)
        assert await one.get_many([key]) == [b"blue"]
        assert await two.get_many([key]) == [b"green"]
    finally:
        await one.aclose()
        await two.aclose()


async def test_entries_expire_after_their_ttl(store: RedisSessionStore, raw: Redis) -> None:
    short, long = keys(2)
    await store.put_many({long: b"l"}, 60)
    await store.put_many({short: b"s"}, 1)
    deadline = time.monotonic() + 4
    while await raw.exists(store.key(short)):  # polling through the store would slide it
        assert time.monotonic() < deadline, "a 1 s entry still there after 4 s"
        time.sleep(0.1)
    assert await store.get_many([short, long]) == [None, b"l"]


async def test_hits_slide_the_expiry_and_misses_do_not_create_keys(
    store: RedisSessionStore, raw: Redis
) -> None:
    hit, miss = keys(2)
    await store.put_many({hit: b"v"}, 120)
    await raw.expire(store.key(hit), 3)  # as if the entry were about to expire
    assert await store.get_many([hit, miss]) == [b"v", None]
    assert 115 <= await raw.ttl(store.key(hit)) <= 120
    assert await raw.exists(store.key(miss)) == 0


async def test_sliding_expiry_keeps_an_active_session_alive(store: RedisSessionStore) -> None:
    [key] = keys(1)
    await store.put_many({key: b"v"}, 3)
    for _ in range(3):  # 4.5 s in all: past the 3 s TTL, but touched every 1.5 s
        time.sleep(1.5)
        assert await store.get_many([key]) == [b"v"]


@asynccontextmanager
async def slow_link(host: str, port: int, delay: float) -> AsyncIterator[int]:
    """A loopback TCP proxy to Redis that delays every chunk the client sends by `delay`:
    N sequential commands cost N x delay, one pipelined batch about one delay."""

    async def pump(r: asyncio.StreamReader, w: asyncio.StreamWriter, lag: float) -> None:
        try:
            while data := await r.read(65536):
                await asyncio.sleep(lag)
                w.write(data)
                await w.drain()
        except OSError:
            pass
        finally:
            w.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, port)
        await asyncio.gather(pump(client_r, server_w, delay), pump(server_r, client_w, 0))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_lookups_and_writes_are_one_round_trip_each(redis_url: str, raw: Redis) -> None:
    """200 keys over a link with 50 ms of latency: one round trip each way (~0.05 s), not
    200 (10 s)."""
    target = urlsplit(redis_url)
    if target.scheme != "redis" or target.path not in ("", "/", "/0") or target.password:
        pytest.skip("the latency proxy test needs a plain redis:// URL on db 0")
    k = keys(200)
    async with slow_link(target.hostname or "127.0.0.1", target.port or 6379, 0.05) as proxy_port:
        store = RedisSessionStore(redis_client(f"redis://127.0.0.1:{proxy_port}/0", 2.0),
                                  timeout_seconds=2.0)  # fmt: skip
        try:
            await store.ping()  # connect first: the handshake is not what is measured
            started = time.perf_counter()
            await store.put_many({key: key.encode() for key in k}, 60)
            assert time.perf_counter() - started < 1.5  # 200 round trips: 10 s
            started = time.perf_counter()
            assert await store.get_many(k) == [key.encode() for key in k]
            assert time.perf_counter() - started < 1.5  # 200 round trips: 10 s
        finally:
            await store.aclose()
    assert await raw.get(store.key(k[0])) == k[0].encode()


def test_tls_urls_are_accepted_without_connecting() -> None:
    settings = Settings(redis_url="rediss://user:secret@cache.example.internal:6379/0")
    store = RedisSessionStore.from_settings(settings)
    pool = store._client.connection_pool
    assert pool.connection_class is SSLConnection
    assert pool.connection_kwargs["host"] == "cache.example.internal"
    assert pool.connection_kwargs["socket_timeout"] == settings.redis_timeout_seconds
    plain = redis_client("redis://127.0.0.1:1/0", 0.1)
    assert plain.connection_pool.connection_class is not SSLConnection


async def test_original_store_in_redis_round_trip_and_isolation(redis_url: str, raw: Redis) -> None:
    store = RedisOriginalStore.from_settings(Settings(redis_url=redis_url, cluster_id="orig"))
    try:
        key = "0123456789abcdef01234567"
        await store.put_many("tenant-a", {key: "héllo ✓ original"}, 60)
        assert await store.get("tenant-a", key) == "héllo ✓ original"
        assert await store.get("tenant-b", key) is None
        assert await store.get("tenant-a", "../../etc/passwd") is None
        [stored] = await raw.keys(f"hgw:orig:o:*:{key}")
        assert stored == store.key("tenant-a", key).encode()
        assert b"tenant-a" not in stored  # the tenant is hashed, not spelled out
        assert 55 <= await raw.ttl(stored) <= 60
        assert await store.ping() is True
    finally:
        await store.aclose()
