"""Suite-wide setup: every test runs offline, as the gateway does in production."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_provider import FakeProvider


def pytest_configure(config: pytest.Config) -> None:
    from adapters.offline import apply_offline_environment

    apply_offline_environment()


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    """A fake Anthropic/OpenAI provider on a free loopback port, stopped after the test."""
    with FakeProvider() as fake:
        yield fake
