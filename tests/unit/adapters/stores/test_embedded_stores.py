"""The embedded default stores: memory sessions and file originals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.stores.file_originals import FileOriginalStore
from adapters.stores.memory_sessions import MemorySessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_sessions_expire_slide_and_stay_bounded() -> None:
    clock = Clock()
    store = MemorySessionStore(max_entries=3, clock=clock)
    asyncio.run(store.put_many({"a": b"1", "b": b"2"}, ttl_seconds=10))
    clock.now += 8
    assert asyncio.run(store.get_many(["a", "x"])) == [b"1", None]  # refreshes a
    clock.now += 8
    assert asyncio.run(store.get_many(["a", "b"])) == [b"1", None]  # b expired
    asyncio.run(store.put_many({"c": b"3", "d": b"4", "e": b"5"}, ttl_seconds=10))
    assert len(store) == 3 and asyncio.run(store.get_many(["a"])) == [None]


def test_file_originals_are_tenant_scoped_and_expire(tmp_path: Path) -> None:
    store = FileOriginalStore(tmp_path)
    key = "0123456789abcdef01234567"
    asyncio.run(store.put_many("alice", {key: "original text"}, ttl_seconds=60))
    assert asyncio.run(store.get("alice", key)) == "original text"
    assert asyncio.run(store.get("bob", key)) is None
    assert asyncio.run(store.get("alice", "../../etc/passwd")) is None
    asyncio.run(store.put_many("alice", {key: "original text"}, ttl_seconds=-1))
    assert asyncio.run(store.get("alice", key)) is None
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_secrets_are_read_from_files_named_after_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.settings import Settings

    (tmp_path / "proxy_token").write_text("from-file\n")
    (tmp_path / "redis_url").write_text("redis://:pw@redis:6379/0")
    monkeypatch.setenv("HEADROOM_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("HEADROOM_PROXY_TOKEN", raising=False)
    settings = Settings()
    assert settings.token() == "from-file"
    assert settings.redis_url is not None and "pw@" in settings.redis_url.get_secret_value()
    assert "pw" not in repr(settings)
    monkeypatch.setenv("HEADROOM_PROXY_TOKEN", "from-env")
    assert Settings().token() == "from-env"
