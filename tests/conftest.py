"""Suite-wide setup: every test runs offline, as the gateway does in production."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from adapters.offline import apply_offline_environment

    apply_offline_environment()
