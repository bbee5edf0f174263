"""S3OriginalStore against a real S3-compatible server (SeaweedFS)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.settings import Settings
from adapters.stores.s3_originals import S3OriginalStore, lifecycle_days
from core.ccr import content_hash
from core.ports import StoreUnavailable
from tests.integration.servers import S3_CREDENTIALS, S3_REGION, free_ports, s3_client

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def client(s3_endpoint: str) -> Iterator[Any]:
    c = s3_client(s3_endpoint)
    yield c
    c.close()


def settings_for(endpoint: str, bucket: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_region": S3_REGION,
        "cluster_id": f"c{uuid.uuid4().hex[:8]}",
    }
    values.update(overrides)  # fmt: skip
    return Settings(**values)


@pytest.fixture
async def store(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[S3OriginalStore]:
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    store = S3OriginalStore.from_settings(settings_for(s3_endpoint, s3_bucket))
    yield store
    await store.aclose()


def original(n: int = 0) -> tuple[str, str]:
    text = f"{uuid.uuid4()} line {n}\n" + "héllo wörld ✓ 日本語\n" * 50
    return content_hash(text), text


async def test_round_trip_missing_and_invalid(store: S3OriginalStore) -> None:
    key, text = original()
    await store.put_many("tenant-a", {key: text}, 600)
    assert await store.get("tenant-a", key) == text
    assert await store.get("tenant-a", content_hash("never stored")) is None
    assert await store.get("tenant-a", "../../x") is None
    assert await store.ping() is True


async def test_many_originals_are_all_stored(store: S3OriginalStore) -> None:
    items = dict(original(i) for i in range(40))
    started = time.perf_counter()
    await store.put_many("tenant-a", items, 600)
    assert time.perf_counter() - started < 10
    for key, text in items.items():
        assert await store.get("tenant-a", key) == text


async def test_a_tenant_cannot_read_another_tenants_original(
    store: S3OriginalStore, client: Any, s3_bucket: str
) -> None:
    key, text = original()
    await store.put_many("tenant-a", {key: text}, 600)
    assert await store.get("tenant-b", key) is None
    assert await store.get("tenant-a", key) == text
    object_key = store.object_key("tenant-a", key)
    digest = hashlib.sha256(b"tenant-a").hexdigest()[:32]
    assert object_key.endswith(f"/{digest}/{key}") and "tenant-a" not in object_key
    assert store.object_key("../../tenant-b", key).count("/") == object_key.count("/")
    head = client.head_object(Bucket=s3_bucket, Key=object_key)
    assert head["ContentLength"] == len(text.encode())


async def test_object_layout_and_cluster_namespacing(
    s3_endpoint: str, s3_bucket: str, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    blue = S3OriginalStore.from_settings(settings_for(s3_endpoint, s3_bucket, cluster_id="blue",
                                                      s3_prefix="hgw-it/"))  # fmt: skip
    green = S3OriginalStore.from_settings(settings_for(s3_endpoint, s3_bucket, cluster_id="green",
                                                       s3_prefix="hgw-it/"))  # fmt: skip
    try:
        key, text = original()
        await blue.put_many("t", {key: text}, 600)
        assert await green.get("t", key) is None
        digest = hashlib.sha256(b"t").hexdigest()[:32]
        assert blue.object_key("t", key) == f"hgw-it/blue/{digest}/{key}"
        listed = client.list_objects_v2(Bucket=s3_bucket, Prefix=f"hgw-it/blue/{digest}/")
        assert [o["Key"] for o in listed.get("Contents", [])] == [f"hgw-it/blue/{digest}/{key}"]
    finally:
        await blue.aclose()
        await green.aclose()


async def test_ttl_is_enforced_on_read(store: S3OriginalStore, client: Any, s3_bucket: str) -> None:
    key, text = original()
    stored_at = time.time()
    await store.put_many("tenant-a", {key: text}, 3)
    head = client.head_object(Bucket=s3_bucket, Key=store.object_key("tenant-a", key))
    expires_at = int(head["Metadata"]["expires-at"])
    assert stored_at + 3 <= expires_at < stored_at + 8  # rounded up: never served short
    assert await store.get("tenant-a", key) == text
    time.sleep(max(0.0, expires_at - time.time()) + 0.2)
    assert await store.get("tenant-a", key) is None
    # Still in the bucket: deleting is the lifecycle rule's job, not the read path's.
    assert client.head_object(Bucket=s3_bucket, Key=store.object_key("tenant-a", key))


def test_lifecycle_days_round_up() -> None:
    assert [lifecycle_days(s) for s in (1, 3600, 86400, 86401, 7 * 86400)] == [1, 1, 1, 2, 7]


async def test_sse_s3_is_applied_by_the_server(
    s3_endpoint: str, s3_bucket: str, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    store = S3OriginalStore.from_settings(settings_for(s3_endpoint, s3_bucket, s3_sse="AES256"))
    try:
        key, text = original()
        await store.put_many("t", {key: text}, 600)
        head = client.head_object(Bucket=s3_bucket, Key=store.object_key("t", key))
        assert head.get("ServerSideEncryption") == "AES256"
        assert await store.get("t", key) == text
    finally:
        await store.aclose()


async def test_sse_kms_headers_are_sent(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SeaweedFS has no KMS, so the write is refused: the headers on the wire are the check,
    and a refused write must surface as StoreUnavailable (the core then falls back)."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    kms_key = "arn:aws:kms:us-east-1:111122223333:key/hgw-test"
    settings = settings_for(s3_endpoint, s3_bucket, s3_sse="aws:kms", s3_kms_key_id=kms_key)
    store = S3OriginalStore.from_settings(settings)
    sent: list[dict[str, str]] = []
    store._client.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: sent.append({k.lower(): v for k, v in request.headers.items()}),
    )
    try:
        key, text = original()
        try:
            await store.put_many("t", {key: text}, 600)
        except StoreUnavailable:
            pass  # expected on SeaweedFS; a server with KMS accepts it
        assert sent, "no PutObject request was sent"
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in sent[0].items()}
        assert headers["x-amz-server-side-encryption"] == "aws:kms"
        assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == kms_key
        assert headers["x-amz-meta-expires-at"].isdigit()
    finally:
        await store.aclose()


async def test_unreachable_endpoint_is_unavailable_fast_and_ping_is_false(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    dead = f"http://127.0.0.1:{free_ports(1)[0]}"  # nothing listens there
    store = S3OriginalStore.from_settings(settings_for(dead, s3_bucket, s3_timeout_seconds=0.5))
    try:
        key, text = original()
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable):
            await store.put_many("t", {key: text}, 600)
        assert time.perf_counter() - started < 2.0  # the budget, 2 x s3_timeout_seconds, + slack
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable):  # circuit open: no wait at all
            await store.get("t", key)
        assert time.perf_counter() - started < 0.2
        assert await store.ping() is False
    finally:
        await store.aclose()
