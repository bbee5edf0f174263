"""The gateway as a real process, proxying to a fake provider on loopback; real SDK clients.

One gateway and one provider per module (a gateway takes seconds to warm); each test gets a
tenant of its own, so no two tests share replay state, and a provider with an empty queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anthropic
import openai
import pytest

from tests.fake_provider import FakeProvider
from tests.processes import Sidecar


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    with FakeProvider(chunk_delay=0.001) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_provider(provider: FakeProvider) -> Iterator[None]:
    provider.reset()
    provider.model = None
    yield
    provider.model = None


@pytest.fixture(scope="module")
def gateway(provider: FakeProvider) -> Iterator[Sidecar]:
    # One name of each kind: headroom's own for Anthropic, upstream's (with /v1) for OpenAI.
    env = {
        "HEADROOM_ANTHROPIC_API_URL": provider.url,
        "OPENAI_TARGET_API_URL": provider.url + "/v1",
    }
    with Sidecar(env) as sidecar:
        yield sidecar


@pytest.fixture
def tenant() -> str:
    return f"proxy-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def claude(gateway: Sidecar, tenant: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway.url,
        api_key="sk-ant-test",
        max_retries=0,
        default_headers={"x-headroom-user-id": tenant},
    )


@pytest.fixture
def gpt(gateway: Sidecar, tenant: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gateway.url + "/v1",
        api_key="sk-test",
        max_retries=0,
        default_headers={"x-headroom-user-id": tenant},
    )
