"""Keys and identity resolution over a real key table (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.identity.keyring import KeyRing
from adapters.identity.keys import key_hash
from adapters.identity.resolve import IdentityResolver, Unauthenticated
from adapters.identity.store import KeyStore
from adapters.ledger.ledger import open_database

HEADERS = ["x-headroom-user-id", "x-maas-username"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyStore]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    db = open_database(url, tmp_path)
    db.migrate()
    yield KeyStore(db)
    db.close()


def test_keys_are_stored_hashed_resolve_to_their_user_and_stop_when_revoked(
    store: KeyStore,
) -> None:
    key, record = store.create("alice", "payments", "checkout")
    assert key.startswith("hgw_") and len(key) >= 40
    stored = store.db.query("SELECT * FROM hgw_api_keys")
    assert key not in repr(stored) and stored[0]["key_hash"] == key_hash(key)
    ring = KeyRing(store, fingerprint_key=b"k" * 32)
    ring.refresh()
    resolver = IdentityResolver(ring, None, HEADERS)
    assert resolver.keys_required  # on by default once a key exists
    who = resolver.resolve({"authorization": f"Bearer {key}"}, "10.0.0.9")
    assert (who.user, who.team, who.project, who.key_id) == ("alice", "payments", "checkout",
                                                              record.key_id)  # fmt: skip
    # a key's identity is not overridden by identity headers
    spoof = {"x-headroom-proxy-token": key, "x-headroom-user-id": "bob"}
    assert resolver.resolve(spoof, "127.0.0.1").user == "alice"
    for headers in ({}, {"authorization": "Bearer hgw_" + "x" * 43}):
        with pytest.raises(Unauthenticated) as refused:
            resolver.resolve(headers, "127.0.0.1")
        assert "invalid token" in str(refused.value)
    assert store.revoke(record.key_id) and not store.revoke(record.key_id)
    ring.refresh()
    with pytest.raises(Unauthenticated):
        resolver.resolve({"authorization": f"Bearer {key}"}, "127.0.0.1")


def test_identity_headers_count_only_from_trusted_peers(store: KeyStore) -> None:
    ring = KeyRing(store)
    ring.refresh()
    resolver = IdentityResolver(ring, None, HEADERS, trusted_networks=["10.1.0.0/16"])
    claim = {"x-maas-username": "carol"}
    assert resolver.resolve(claim, "127.0.0.1").user == "carol"
    assert resolver.resolve(claim, "10.1.2.3").user == "carol"
    assert resolver.resolve(claim, "10.2.0.1").user == "anonymous"
    assert resolver.resolve(claim, "not-an-ip").user == "anonymous"
    operator = IdentityResolver(ring, "op-token", HEADERS)
    assert (
        operator.resolve({"authorization": "Bearer op-token", **claim}, "10.9.9.9").user == "carol"
    )
    with pytest.raises(Unauthenticated):
        operator.resolve(claim, "127.0.0.1")


def test_stats_are_for_the_operator_only(store: KeyStore) -> None:
    key, _ = store.create("alice")
    ring = KeyRing(store)
    ring.refresh()
    open_resolver = IdentityResolver(ring, None, HEADERS)
    assert open_resolver.may_read_stats({}, "127.0.0.1")
    assert not open_resolver.may_read_stats({}, "10.0.0.1")
    assert not open_resolver.may_read_stats({"authorization": f"Bearer {key}"}, "127.0.0.1")
    admin = IdentityResolver(ring, "gw", HEADERS, admin_token="adm")
    assert admin.may_read_stats({"authorization": "Bearer adm"}, "10.0.0.1")
    assert not admin.may_read_stats({"authorization": "Bearer gw"}, "127.0.0.1")
    assert not admin.may_read_stats({"x-headroom-proxy-token": key}, "127.0.0.1")


def test_proxy_managed_key_and_bring_your_own_key(store: KeyStore) -> None:
    key, _ = store.create("alice", "payments")
    ring = KeyRing(store)  # no fingerprint key configured: one is made in the database
    ring.refresh()
    resolver = IdentityResolver(ring, None, HEADERS, require_keys=False)
    managed = resolver.resolve_proxy({"x-api-key": key}, "10.0.0.1")
    assert managed.managed and managed.identity.user == "alice"
    byok = resolver.resolve_proxy({"x-api-key": "sk-ant-api03-secret"}, "10.0.0.1")
    assert not byok.managed and byok.identity.user.startswith("byok:")
    fp = ring.fingerprint("sk-ant-api03-secret")
    assert fp is not None and "sk-ant" not in fp and len(fp) == 64
    assert KeyRing(store).fingerprint("x") is None  # before its first load
    store.map_fingerprint(fp, "dave", "search")
    ring.refresh()
    mapped = resolver.resolve_proxy({"authorization": "Bearer sk-ant-api03-secret"}, "10.0.0.1")
    assert (mapped.identity.user, mapped.identity.team, mapped.managed) == ("dave", "search", False)
    strict = IdentityResolver(ring, None, HEADERS, require_keys=True)
    assert (
        strict.resolve_proxy({"x-api-key": "sk-ant-api03-secret"}, "1.2.3.4").identity.user
        == "dave"
    )
    with pytest.raises(Unauthenticated):
        strict.resolve_proxy({"x-api-key": "sk-unknown"}, "127.0.0.1")
