"""The shared CCR original store: one S3 object per original, readable from every replica.

Object key `{s3_prefix}{cluster_id}/{sha256(tenant)[:32]}/{hash}`: the tenant part is a digest
the caller cannot steer, so a tenant can only ever address its own objects. Each object
carries `expires-at` (epoch seconds) metadata and reads enforce it, so an original is never
served past its TTL; the bucket's lifecycle rule (Terraform sets it to ceil(ttl / 86400) days
on the prefix) does the actual deletion, since S3 expires objects in whole days only.

boto3 is synchronous: calls run on a small executor of this store's own (never the loop's
default one), each bounded by botocore's timeouts, an overall budget and a circuit breaker,
so an unreachable endpoint costs a request at most the budget and then nothing while it
stays down. Works with any S3-compatible server through `s3_endpoint_url`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.circuit import CircuitBreaker
from adapters.stores.shared import tenant_digest
from core.ccr import is_valid_hash

if TYPE_CHECKING:
    from adapters.settings import Settings

T = TypeVar("T")
S3_ERRORS: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, OSError)
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
MAX_CONCURRENCY = 8
PING_TIMEOUT_SECONDS = 1.0


def s3_client(settings: Settings) -> Any:
    """One client per process (thread-safe); short timeouts and one retry, as a request waits."""
    config = Config(
        connect_timeout=settings.s3_timeout_seconds,
        read_timeout=settings.s3_timeout_seconds,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=MAX_CONCURRENCY * 2,
        tcp_keepalive=True,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        config=config,
    )


def lifecycle_days(ttl_seconds: int) -> int:
    """The bucket lifecycle expiration matching a CCR TTL (S3 counts in whole days)."""
    return max(1, math.ceil(ttl_seconds / 86400))


class S3OriginalStore:
    """Implements core.ports.OriginalStore on S3 (or any S3-compatible server)."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        prefix: str = "headroom-gateway/",
        cluster_id: str = "default",
        sse: str | None = None,
        kms_key_id: str | None = None,
        timeout_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._root = f"{prefix}{cluster_id}/"
        self._extra: dict[str, str] = {}
        if sse:
            self._extra["ServerSideEncryption"] = sse
            if sse == "aws:kms" and kms_key_id:
                self._extra["SSEKMSKeyId"] = kms_key_id
        # Two botocore attempts could take 2 x (connect + read) plus backoff; a request waits
        # at most this long for the store before degrading.
        self._budget = 2 * timeout_seconds
        self._clock = clock
        self._executor = ThreadPoolExecutor(MAX_CONCURRENCY, thread_name_prefix="s3-originals")
        self._breaker = CircuitBreaker("s3 originals")

    @classmethod
    def from_settings(cls, settings: Settings) -> S3OriginalStore:
        if not settings.s3_bucket:
            raise ValueError("s3_bucket is not set")
        return cls(
            s3_client(settings),
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            cluster_id=settings.cluster_id,
            sse=settings.s3_sse,
            kms_key_id=settings.s3_kms_key_id,
            timeout_seconds=settings.s3_timeout_seconds,
        )

    def object_key(self, tenant: str, key: str) -> str:
        return f"{self._root}{tenant_digest(tenant)}/{key}"

    async def put_many(self, tenant: str, items: Mapping[str, str], ttl_seconds: int) -> None:
        """Every item is stored (in parallel) before this returns, or StoreUnavailable."""
        if not items:
            return
        expires_at = str(math.ceil(self._clock() + ttl_seconds))  # never early
        puts = [partial(self._put, self.object_key(tenant, k), v, expires_at)
                for k, v in items.items()]  # fmt: skip

        async def run() -> None:
            await asyncio.gather(*(self._in_thread(put) for put in puts))

        await self._breaker.call(run, self._budget, S3_ERRORS)

    async def get(self, tenant: str, key: str) -> str | None:
        """None when missing or expired; StoreUnavailable when S3 cannot tell."""
        if not is_valid_hash(key):
            return None
        object_key = self.object_key(tenant, key)
        return await self._breaker.call(
            lambda: self._in_thread(partial(self._get, object_key)), self._budget, S3_ERRORS
        )

    async def ping(self) -> bool:
        """Readiness: HEAD on the bucket within a second; never raises. The answer also
        opens or closes the circuit, so readiness probes speed up recovery."""
        head = partial(self._client.head_bucket, Bucket=self._bucket)
        return await self._breaker.probe(lambda: self._in_thread(head), PING_TIMEOUT_SECONDS)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def _put(self, object_key: str, original: str, expires_at: str) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=object_key,
            Body=original.encode(),
            ContentType="text/plain; charset=utf-8",
            Metadata={"expires-at": expires_at},
            **self._extra,
        )

    def _get(self, object_key: str) -> str | None:
        try:
            found = self._client.get_object(Bucket=self._bucket, Key=object_key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        with found["Body"] as body:
            data: bytes = body.read()
        expires_at = found.get("Metadata", {}).get("expires-at")
        try:
            if expires_at is not None and float(expires_at) <= self._clock():
                return None
        except ValueError:
            return None  # not an object this store wrote
        return data.decode()

    async def _in_thread(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)
