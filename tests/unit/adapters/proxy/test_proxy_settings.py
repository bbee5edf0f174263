"""Upstream URLs of the proxy: headroom's names, upstream headroom's and the seed's names."""

from __future__ import annotations

import pytest

from adapters.proxy.upstream import Upstream
from adapters.settings import Settings


def test_defaults_are_the_public_apis_and_the_proxy_runs_in_ccr_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HEADROOM_ANTHROPIC_API_URL", "ANTHROPIC_TARGET_API_URL",
                 "HEADROOM_OPENAI_API_URL", "OPENAI_TARGET_API_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.anthropic_api_url == "https://api.anthropic.com"
    assert settings.openai_api_url == "https://api.openai.com"
    assert settings.proxy_mode == "ccr" and settings.proxy_retrieve_rounds == 3


def test_every_name_is_accepted_and_headrooms_own_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_TARGET_API_URL", "http://seed:1")
    monkeypatch.setenv("OPENAI_TARGET_API_URL", "http://seed:2/v1")
    assert Settings().anthropic_api_url == "http://seed:1"
    monkeypatch.setenv("HEADROOM_ANTHROPIC_API_URL", "http://headroom:1")
    assert Settings().anthropic_api_url == "http://headroom:1"
    assert Settings(openai_api_url="http://kw:3").openai_api_url == "http://kw:3"


@pytest.mark.parametrize("base", ["http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/"])
def test_a_base_url_with_or_without_v1_means_the_same(base: str) -> None:
    upstream = Upstream(base, base, 1.0)
    assert upstream.url("openai", "/v1/chat/completions") == "http://h:1/v1/chat/completions"
    assert upstream.url("anthropic", "/v1/messages", "beta=true") == (
        "http://h:1/v1/messages?beta=true"
    )
