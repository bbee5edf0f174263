"""Proxy mode, both ways a developer can hold a credential: a gateway key (managed: the
organisation's provider key goes upstream) or their own provider key (passed through, known
by its keyed fingerprint). Either way the request is one ledger row under its owner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.fake_provider import FakeProvider, Reply
from tests.integration.ledger.test_accounting_sidecars import (
    FAST,
    _base_env,
    eventually,
    keys_cli,
    stats,
)
from tests.processes import REPO, Sidecar

ORG_KEY = "sk-ant-organisation"
BOBS_KEY = "sk-ant-bobs-own"
BODY = {"model": "claude-sonnet-4-5", "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip


def fingerprint(env: dict[str, str], provider_key: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sidecar", "keys", "fingerprint"], cwd=REPO,
                          env={**_base_env(), **env}, input=provider_key + "\n",
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout.strip()


def test_managed_and_own_keys_reach_the_provider_and_the_ledger(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    env = {**FAST, "HEADROOM_DATA_DIR": str(tmp_path), "HEADROOM_FINGERPRINT_KEY": "fp-secret",
           "HEADROOM_PROXY_TOKEN": "gateway-token",
           "HEADROOM_ANTHROPIC_API_URL": fake_provider.url,
           "HEADROOM_ANTHROPIC_API_KEY": ORG_KEY}  # fmt: skip
    alice = keys_cli(env, "create", "--user", "alice", "--team", "payments")
    carol = keys_cli(env, "create", "--user", "carol", "--team", "search")
    keys_cli(env, "map", "--fingerprint", fingerprint(env, BOBS_KEY), "--user", "bob",
             "--team", "search")  # fmt: skip
    fake_provider.model = lambda exchange: Reply.say("ok")
    with Sidecar(env, workdir=tmp_path / "gw") as gateway:
        url = f"{gateway.url}/v1/messages"
        base = {"anthropic-version": "2023-06-01"}
        managed = httpx.post(url, json=BODY, headers={**base, "x-api-key": alice}, timeout=30)
        token = {"x-headroom-proxy-token": "gateway-token"}
        # bob's mapped key decides his team: a header naming another one does not count
        own = httpx.post(url, json=BODY, timeout=30, headers={
            **base, **token, "x-api-key": BOBS_KEY, "x-headroom-team": "payments"})  # fmt: skip
        beside = {**base, "x-headroom-proxy-token": carol, "x-api-key": "sk-ant-carols-own"}
        with_key = httpx.post(url, json=BODY, headers=beside, timeout=30)
        stranger = httpx.post(url, json=BODY, headers={**base, "x-api-key": "sk-ant-who"})
        assert (managed.status_code, own.status_code, with_key.status_code) == (200, 200, 200)
        assert stranger.status_code == 401  # neither the gateway token nor a gateway key
        first, second, third = fake_provider.generations()
        assert third.header("x-api-key") == "sk-ant-carols-own"  # her key, her identity
        assert third.header("x-headroom-proxy-token") is None
        assert first.header("x-api-key") == ORG_KEY  # alice's gateway key never leaves
        assert alice not in str(first.headers)
        assert second.header("x-api-key") == BOBS_KEY  # bob's own key passes untouched
        users = eventually(
            lambda: (
                {row["user"]: row for row in stats(gateway.url)["by_user"]}
                if len(stats(gateway.url)["by_user"]) >= 3
                else None
            )
        )
        assert set(users) == {"alice", "bob", "carol"}, users
        assert users["alice"]["requests"] == users["bob"]["requests"] == 1
        assert users["carol"]["requests"] == 1
        assert stats(gateway.url, team="payments")["summary"]["api_requests"] == 1
        assert stats(gateway.url, team="search")["summary"]["api_requests"] == 2
