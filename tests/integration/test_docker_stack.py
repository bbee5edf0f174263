"""The shared-state stores against the containerised stack (skipped without a Docker daemon)."""

from __future__ import annotations

import pytest

from adapters.settings import Settings
from adapters.stores.redis_sessions import RedisSessionStore
from adapters.stores.s3_originals import S3OriginalStore
from core.ccr import content_hash
from tests.integration.docker_stack import (  # noqa: F401 (fixtures)
    DockerStack,
    docker_compose_file,
    docker_compose_project_name,
    docker_stack_fixture,
)
from tests.integration.servers import S3_BUCKET, S3_CREDENTIALS, S3_REGION

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def test_sessions_and_originals_round_trip_on_the_docker_stack(
    docker_stack: DockerStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings = Settings(redis_url=docker_stack.redis_url, s3_bucket=S3_BUCKET,
                        s3_endpoint_url=docker_stack.s3_endpoint_url, s3_region=S3_REGION,
                        cluster_id="docker")  # fmt: skip
    sessions = RedisSessionStore.from_settings(settings)
    originals = S3OriginalStore.from_settings(settings)
    try:
        await sessions.put_many({"k": b"entry"}, 60)
        assert await sessions.get_many(["k", "missing"]) == [b"entry", None]
        text = "original from the docker stack\n" * 20
        await originals.put_many("tenant", {content_hash(text): text}, 600)
        assert await originals.get("tenant", content_hash(text)) == text
        assert await originals.get("other", content_hash(text)) is None
        assert await sessions.ping() and await originals.ping()
    finally:
        await sessions.aclose()
        await originals.aclose()
