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

from redis.asyncio import Redis

from adapters.circuit import CircuitBreaker
from adapters.stores.shared import RedisBacked, redis_client

if TYPE_CHECKING:
    from adapters.settings import Settings


class RedisSessionStore(RedisBacked):
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
        super().__init__(client, timeout_seconds, breaker, "redis sessions")
        self._prefix = f"hgw:{cluster_id}:s:"
        self._ttl = ttl_seconds

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

        return await self._call(run)

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

        await self._call(run)
