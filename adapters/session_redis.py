"""The shared session store: replay entries in Redis, so every replica replays the same bytes.

Keys are `hgw:{cluster_id}:s:{key}`; the core's keys are already tenant-scoped hashes, and
values are the core's compact encoded entries, stored as they are. A request's lookups are one
pipeline of GETEX (which also slides the TTL) and its writes one pipeline of SET EX: one
round trip each. Every call is bounded by `redis_timeout_seconds` and a circuit breaker, and
any failure surfaces as `StoreUnavailable`, so the core degrades to "no replay" instead of
waiting on, or failing with, Redis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from adapters.circuit import CircuitBreaker

if TYPE_CHECKING:
    from adapters.settings import Settings

#: What a Redis call may raise when the server is down, slow or unreachable.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
MAX_CONNECTIONS = 32


def redis_client(url: str, timeout_seconds: float) -> Redis:
    """A client over a bounded pool; redis:// or rediss:// (TLS, as ElastiCache Serverless
    requires). One immediate retry (no backoff) replaces a pooled connection that went stale
    across a Redis restart; everything else is left to the caller's timeout and breaker."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout_seconds,  # waiting for a free pooled connection
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


class RedisSessionStore:
    """Implements core.ports.SessionStore on Redis with sliding expiry."""

    def __init__(
        self,
        client: Redis,
        *,
        cluster_id: str = "default",
        ttl_seconds: int = 7200,
        timeout_seconds: float = 0.25,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._client = client
        self._prefix = f"hgw:{cluster_id}:s:"
        self._ttl = ttl_seconds
        self._timeout = timeout_seconds
        self._breaker = breaker or CircuitBreaker("redis sessions")

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisSessionStore:
        if settings.redis_url is None:
            raise ValueError("redis_url is not set")
        return cls(
            redis_client(settings.redis_url.get_secret_value(), settings.redis_timeout_seconds),
            cluster_id=settings.cluster_id,
            ttl_seconds=settings.session_ttl_seconds,
            timeout_seconds=settings.redis_timeout_seconds,
        )

    def key(self, key: str) -> str:
        return self._prefix + key

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """One pipeline of GETEX ... EX ttl: hits are returned and their TTL refreshed."""
        if not keys:
            return []
        ttl = self._ttl

        async def run() -> list[bytes | None]:
            async with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.getex(self._prefix + key, ex=ttl)
                return list(await pipe.execute())

        return await self._breaker.call(run, self._timeout, REDIS_ERRORS)

    async def put_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None:
        """One pipeline of SET ... EX ttl. The TTL is remembered for the sliding refresh."""
        if not items:
            return
        self._ttl = ttl_seconds

        async def run() -> None:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(self._prefix + key, value, ex=ttl_seconds)
                await pipe.execute()

        await self._breaker.call(run, self._timeout, REDIS_ERRORS)

    async def ping(self) -> bool:
        """Readiness: a real PING even while the breaker is open; a success closes it."""
        return await self._breaker.probe(self._client.ping, self._timeout)

    async def aclose(self) -> None:
        await self._client.aclose()
