"""CCR originals in Redis, for small deployments that share Redis but have no S3 bucket.

Keys `hgw:{cluster_id}:o:{sha256(tenant)[:32]}:{hash}`, so a tenant can only ever address its
own originals; Redis expires them with the CCR TTL. Originals can be large (a whole build log),
so size Redis memory for them or prefer S3. Same bounds as the session store: a timeout per
call, a circuit breaker, every failure raised as `StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from adapters.stores.shared import RedisBacked, redis_client, tenant_digest
from core.ccr import is_valid_hash

if TYPE_CHECKING:
    from adapters.settings import Settings


class RedisOriginalStore(RedisBacked):
    """Implements core.ports.OriginalStore on Redis."""

    def __init__(
        self,
        client: Redis,
        *,
        cluster_id: str = "default",
        timeout_seconds: float = 0.25,
    ) -> None:
        super().__init__(client, timeout_seconds, None, "redis originals")
        self._prefix = f"hgw:{cluster_id}:o:"

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
        return f"{self._prefix}{tenant_digest(tenant)}:{key}"

    async def put_many(self, tenant: str, items: Mapping[str, str], ttl_seconds: int) -> None:
        if not items:
            return

        async def run() -> None:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, original in items.items():
                    pipe.set(self.key(tenant, key), original.encode(), ex=ttl_seconds)
                await pipe.execute()

        await self._call(run)

    async def get(self, tenant: str, key: str) -> str | None:
        if not is_valid_hash(key):
            return None
        raw = await self._call(lambda: self._client.get(self.key(tenant, key)))
        if raw is None:
            return None
        return raw if isinstance(raw, str) else raw.decode()
