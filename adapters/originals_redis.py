"""CCR originals in Redis, for small deployments that share Redis but have no S3 bucket.

Keys `hgw:{cluster_id}:o:{sha256(tenant)[:32]}:{hash}`, so a tenant can only ever address its
own originals; Redis expires them with the CCR TTL. Originals can be large (a whole build log),
so size Redis memory for them or prefer S3. Same bounds as the session store: a timeout per
call, a circuit breaker, every failure raised as `StoreUnavailable`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from adapters.circuit import CircuitBreaker
from adapters.session_redis import REDIS_ERRORS, redis_client
from core.ccr import is_valid_hash

if TYPE_CHECKING:
    from adapters.settings import Settings


class RedisOriginalStore:
    """Implements core.ports.OriginalStore on Redis."""

    def __init__(
        self,
        client: Redis,
        *,
        cluster_id: str = "default",
        timeout_seconds: float = 0.25,
    ) -> None:
        self._client = client
        self._prefix = f"hgw:{cluster_id}:o:"
        self._timeout = timeout_seconds
        self._breaker = CircuitBreaker("redis originals")

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisOriginalStore:
        if settings.redis_url is None:
            raise ValueError("redis_url is not set")
        return cls(
            redis_client(settings.redis_url.get_secret_value(), settings.redis_timeout_seconds),
            cluster_id=settings.cluster_id,
            timeout_seconds=settings.redis_timeout_seconds,
        )

    def key(self, tenant: str, key: str) -> str:
        return f"{self._prefix}{hashlib.sha256(tenant.encode()).hexdigest()[:32]}:{key}"

    async def put_many(self, tenant: str, items: Mapping[str, str], ttl_seconds: int) -> None:
        if not items:
            return

        async def run() -> None:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, original in items.items():
                    pipe.set(self.key(tenant, key), original.encode(), ex=ttl_seconds)
                await pipe.execute()

        await self._breaker.call(run, self._timeout, REDIS_ERRORS)

    async def get(self, tenant: str, key: str) -> str | None:
        if not is_valid_hash(key):
            return None
        raw = await self._breaker.call(
            lambda: self._client.get(self.key(tenant, key)), self._timeout, REDIS_ERRORS
        )
        if raw is None:
            return None
        return raw if isinstance(raw, str) else raw.decode()

    async def ping(self) -> bool:
        return await self._breaker.probe(self._client.ping, self._timeout)

    async def aclose(self) -> None:
        await self._client.aclose()
