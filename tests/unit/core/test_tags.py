"""Request tags: client names from real User-Agent strings, bounded operator tags."""

from __future__ import annotations

import pytest

from core.tags import CLIENTS, RequestTags, bounded, client_from_user_agent, extra_tags


@pytest.mark.parametrize(
    ("user_agent", "client"),
    [
        ("claude-cli/2.1.332 (external, cli)", "claude-cli"),
        ("codex_cli_rs/0.171.0 (Debian 12; x86_64) xterm", "codex"),
        ("codex_exec/0.171.0", "codex"),
        ("litellm/1.77.0", "litellm"),
        ("OpenAI/Python 1.109.1", "openai-python"),
        ("AsyncOpenAI/Python 1.109.1", "openai-python"),
        ("Anthropic/Python 0.69.0", "anthropic-python"),
        ("AsyncAnthropic/Python 0.69.0", "anthropic-python"),
        ("curl/7.88.1", "curl"),
        ("python-httpx/0.28.1", "httpx"),
        ("Mozilla/5.0 something new", "other"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_client_from_user_agent(user_agent: str | None, client: str) -> None:
    assert client_from_user_agent(user_agent) == client
    assert client in CLIENTS


def test_only_allowed_extra_tags_are_kept_bounded_in_count_and_length() -> None:
    headers = [("X-Headroom-Tag-Ticket", "JIRA-1" + "x" * 500), ("x-headroom-tag-secret", "no"),
               ("x-headroom-tag-env", "prod\x00\n"), ("x-other", "ignored")]  # fmt: skip
    tags = extra_tags(headers, ["ticket", "env"])
    assert tags == {"ticket": ("JIRA-1" + "x" * 500)[:64], "env": "prod"}
    many = [(f"x-headroom-tag-k{i}", "v") for i in range(20)]
    assert len(extra_tags(many, [f"k{i}" for i in range(20)])) == 8
    assert extra_tags(headers, []) == {}


def test_tags_serialise_with_the_seed_user_id_key() -> None:
    tags = RequestTags(user="alice", team="payments", client="curl", extra={"env": "prod"})
    assert tags.as_dict()["user-id"] == "alice"
    assert tags.as_dict()["env"] == "prod"
    assert "project" not in tags.as_dict()
    assert bounded("  a\tb  ", 2) == "ab"
