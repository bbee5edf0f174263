"""Keys, tags and the shared ledger through real gateway processes.

Two replicas write one PostgreSQL ledger; /stats on either shows the sum; PostgreSQL is
stopped mid-run and restarted and every row is there afterwards; keys are created, used and
revoked with the real CLI; tenant isolation follows the key. The embedded SQLite default is
checked on its own sidecar.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests import corpus
from tests.integration.postgres_server import PostgresServer
from tests.processes import REPO, Sidecar

ADMIN = "admin-secret"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}
FAST = {"HEADROOM_LEDGER_FLUSH_SECONDS": "0.05", "HEADROOM_KEYS_REFRESH_SECONDS": "0.2",
        "HEADROOM_ADMIN_TOKEN": ADMIN, "HEADROOM_TAG_ALLOWLIST": '["ticket"]'}  # fmt: skip


def request_body(kind: str = "app_log", size: int = 400, ccr: bool = False) -> dict[str, Any]:
    messages = [{"role": "user", "content": "check"},
                *corpus.tool_turn_openai("c1", "Bash", corpus.CONTENT[kind](size))]  # fmt: skip
    body: dict[str, Any] = {"messages": messages, "model": "gpt-4o"}
    if ccr:
        body["config"] = {"mode": "ccr"}
    return body


def compress(base: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{base}/v1/compress", json=request_body(**kwargs), headers=headers,
                      timeout=30)  # fmt: skip


def keys_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sidecar", "keys", *args], cwd=REPO,
                          env={**_base_env(), **env}, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    return done.stdout.strip()


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_")}


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def stats(base: str, **params: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/stats", headers=ADMIN_AUTH, params=params, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ledger_rows(url: str, marker: str) -> int:
    """Rows whose user or tags mention `marker`, counted in the database itself."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM hgw_usage WHERE user_id = %s OR extra_tags "
                           "LIKE %s", (marker, f'%"{marker}"%')).fetchone()  # fmt: skip
        return int(row[0]) if row else 0


def test_sqlite_is_the_default_ledger(tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("sqlite-sidecar")
    with Sidecar(FAST, workdir=workdir) as sidecar:
        headers = {"x-maas-username": "alice", "user-agent": "curl/8.5.0",
                   "x-headroom-tag-ticket": "FIN-42",
                   "x-headroom-tag-other": "dropped"}  # fmt: skip
        for _ in range(3):
            assert compress(sidecar.url, headers).status_code == 200
        body = eventually(lambda: (s := stats(sidecar.url))["summary"]["api_requests"] == 3 and s)
        assert body, "three requests never reached the ledger"
        assert (workdir / "data" / "ledger.sqlite3").exists()
        summary = body["summary"]
        assert summary["compression"]["requests_compressed"] == 3
        assert summary["compression"]["total_tokens_removed"] > 0
        cost = summary["cost"]  # gpt-4o has a price in the shipped table
        assert cost["priced_requests"] == 3 and cost["total_saved_usd"] > 0
        assert cost["total_saved_usd"] == pytest.approx(
            cost["without_headroom_usd"] - cost["with_headroom_usd"], abs=1e-6
        )
        assert sum(r["cost_saved_usd"] for r in body["recent_requests"]) == pytest.approx(
            cost["total_saved_usd"], abs=1e-5
        )
        assert body["by_model"][0]["cost_saved_usd"] == pytest.approx(cost["total_saved_usd"],
                                                                      abs=1e-5)  # fmt: skip
        assert "gpt-4o" in httpx.get(f"{sidecar.url}/pricing", headers=ADMIN_AUTH).json()["models"]
        last = body["recent_requests"][-1]
        assert last["tags"]["user-id"] == "alice" and last["tags"]["client"] == "curl"
        assert last["tags"]["ticket"] == "FIN-42" and "other" not in last["tags"]
        assert last["model"] == "gpt-4o" and last["route"] == "compress"
        assert [u["user"] for u in body["by_user"]] == ["alice"]
        assert body["lifetime"]["requests"] == 3 and body["hourly"][0]["requests"] == 3
        for path in ("/stats/insights", "/stats-history", "/sessions", "/pricing"):
            assert httpx.get(sidecar.url + path, headers=ADMIN_AUTH).status_code == 200, path
        insights = httpx.get(f"{sidecar.url}/stats/insights", headers=ADMIN_AUTH).json()
        assert (
            insights["total_requests"] == 3 and insights["engines"]["log"] == 1
        )  # turns 2-3 replay
        history = httpx.get(f"{sidecar.url}/stats-history", headers=ADMIN_AUTH).json()
        assert history["lifetime"]["requests"] == 3 and len(history["history"]) == 3
        assert all(h["total_tokens_saved"] > 0 for h in history["history"])
        sessions = httpx.get(f"{sidecar.url}/sessions", headers=ADMIN_AUTH).json()
        assert [s["user_id"] for s in sessions["sessions"]] == ["alice"]
        assert httpx.get(f"{sidecar.url}/stats").status_code == 401
        exported = httpx.get(f"{sidecar.url}/stats/export.csv", headers=ADMIN_AUTH,
                             params={"user": "alice", "window": "24h"})  # fmt: skip
        table = list(csv.DictReader(io.StringIO(exported.text)))
        assert exported.headers["content-type"].startswith("text/csv")
        assert [(r["user"], r["requests"]) for r in table] == [("alice", "3")]
        assert httpx.get(f"{sidecar.url}/stats", headers=ADMIN_AUTH,
                         params={"since": "yesterday"}).status_code == 400  # fmt: skip


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A PostgreSQL of this module's own (it gets stopped), keys for alice and bob, and two
    gateway replicas writing one ledger."""
    server = PostgresServer()
    server.start()
    url = server.create_database("ledger")
    env = {**FAST, "HEADROOM_DATABASE_URL": url}
    alice = keys_cli(env, "create", "--user", "alice", "--team", "payments", "--project", "co")
    bob = keys_cli(env, "create", "--user", "bob", "--team", "search")
    root = tmp_path_factory.mktemp("ledger-replicas")
    pair = [Sidecar({**env, "HEADROOM_INSTANCE_ID": name}, workdir=root / name)
            for name in ("a", "b")]  # fmt: skip
    try:
        for sidecar in pair:
            sidecar.start()
        yield {"server": server, "url": url, "env": env, "alice": alice, "bob": bob,
               "replicas": pair}  # fmt: skip
    finally:
        for sidecar in pair:
            sidecar.stop()
        server.cleanup()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_two_replicas_write_one_ledger_and_keys_decide_who_calls(shared: dict[str, Any]) -> None:
    a, b = (s.url for s in shared["replicas"])
    alice, bob = bearer(shared["alice"]), bearer(shared["bob"])
    for base in (a, b):  # keys exist, so a caller without one is refused, even on loopback
        refused = compress(base, {"x-maas-username": "alice"})
        assert refused.status_code == 401 and refused.json()["error"]["type"] == "unauthorized"
        assert httpx.get(f"{base}/stats", headers=alice).status_code == 401  # users never read
    sent = {"alice": 0, "bob": 0}
    for i in range(10):
        base = (a, b)[i % 2]
        for name, auth in (("alice", alice), ("bob", bob)):
            if name == "bob" and i % 3:
                continue
            assert compress(base, auth, size=200 + i).status_code == 200
            sent[name] += 1
    total = sum(sent.values())
    for base in (a, b):
        body = eventually(lambda base=base: (s := stats(base))["summary"]["api_requests"] == total
                          and s)  # fmt: skip
        assert body, f"/stats on {base} never showed {total} requests"
        by_user = {u["user"]: u["requests"] for u in body["by_user"]}
        assert by_user == sent
        assert {t["team"]: t["requests"] for t in body["by_team"]} == {
            "payments": sent["alice"], "search": sent["bob"]}  # fmt: skip
        instances = {r["tags"]["instance"] for r in body["recent_requests"]}
        assert len(instances) == 2  # both replicas wrote
    only_alice = stats(b, user="alice", team="payments")
    assert only_alice["summary"]["api_requests"] == sent["alice"]
    assert {r["tags"]["project"] for r in only_alice["recent_requests"]} == {"co"}


def test_tenant_isolation_follows_the_key_and_revocation_refuses(shared: dict[str, Any]) -> None:
    a = shared["replicas"][0].url
    alice, bob = bearer(shared["alice"]), bearer(shared["bob"])
    body = compress(a, alice, kind="app_log", size=1500, ccr=True).json()
    (key,) = body["ccr_hashes"]
    # an identity header cannot move a key holder into another tenant
    assert httpx.get(f"{a}/v1/retrieve/{key}", headers=alice).status_code == 200
    assert httpx.get(f"{a}/v1/retrieve/{key}",
                     headers={**bob, "x-headroom-user-id": "alice"}).status_code == 404  # fmt: skip
    listed = [json.loads(line) for line in keys_cli(shared["env"], "list").splitlines()]
    alice_id = next(k["key_id"] for k in listed if k["user"] == "alice")
    assert all(shared["alice"] not in json.dumps(k) for k in listed)
    keys_cli(shared["env"], "revoke", alice_id)
    for sidecar in shared["replicas"]:
        refused = eventually(lambda s=sidecar: compress(s.url, alice).status_code == 401, 15)
        assert refused, "a revoked key still works"
        assert compress(sidecar.url, bob).status_code == 200
        log = sidecar.log_tail(100_000)
        assert shared["alice"] not in log and shared["bob"] not in log


def test_postgres_outage_mid_run_loses_no_row(shared: dict[str, Any]) -> None:
    server: PostgresServer = shared["server"]
    url = shared["url"]
    run = {**bearer(shared["bob"]), "x-headroom-tag-ticket": "outage-run"}
    a, b = (s.url for s in shared["replicas"])
    sent = 0
    for i in range(30):
        if i == 10:
            server.stop()
        if i == 20:
            server.start()
        started = time.perf_counter()
        response = compress((a, b)[i % 2], run, size=150 + i)
        assert response.status_code == 200
        assert time.perf_counter() - started < 5  # nobody waits on the database
        sent += 1
    assert eventually(lambda: ledger_rows(url, "outage-run") == sent, 30), (
        f"{ledger_rows(url, 'outage-run')} rows in the ledger, {sent} expected"
    )
    bob_rows = ledger_rows(url, "bob")
    assert eventually(lambda: stats(b, user="bob")["summary"]["api_requests"] == bob_rows)
    time.sleep(0.5)
    assert ledger_rows(url, "outage-run") == sent  # and nothing counted twice
    metrics = "".join(httpx.get(f"{s.url}/metrics").text for s in shared["replicas"])
    spooled = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith('headroom_ledger_rows_total{result="spooled"}')
    ]
    assert len(spooled) == 2 and sum(spooled) >= 10  # the outage's rows went through the spool
    assert metrics.count("headroom_ledger_database_ok 1.0") == 2
    assert stats(a, user="bob")["summary"]["api_requests"] == bob_rows
