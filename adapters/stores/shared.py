"""What every store repeats: the tenant digest, the Redis client, bounded Redis calls.

A tenant id comes from a header or a key, so it never becomes a path or key part as it is:
its digest does, and one tenant can only ever address its own state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from adapters.circuit import CircuitBreaker

T = TypeVar("T")
#: What a Redis call may raise when the server is down, slow or unreachable.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
MAX_CONNECTIONS = 32


def tenant_digest(tenant: str) -> str:
    """32 hex characters of sha256(tenant): the whole id counts, nothing a caller can steer."""
    return hashlib.sha256(tenant.encode("utf-8", "surrogatepass")).hexdigest()[:32]


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


class RedisBacked:
    """A Redis client whose every call is bounded by a timeout and a circuit breaker."""

    def __init__(
        self, client: Redis, timeout_seconds: float, breaker: CircuitBreaker | None, name: str
    ) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self._breaker = breaker or CircuitBreaker(name)

    async def _call(self, run: Callable[[], Awaitable[T]]) -> T:
        """`run()` within the timeout; any failure surfaces as StoreUnavailable."""
        return await self._breaker.call(run, self._timeout, REDIS_ERRORS)

    async def ping(self) -> bool:
        """Readiness: a real PING even while the breaker is open; a success closes it."""
        return await self._breaker.probe(self._client.ping, self._timeout)

    async def aclose(self) -> None:
        await self._client.aclose()
