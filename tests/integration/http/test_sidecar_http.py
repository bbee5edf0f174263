"""The sidecar as clients see it: a real process, real HTTP on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import corpus
from tests.processes import REPO, Sidecar

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    env = {"HEADROOM_PROXY_TOKEN": TOKEN, "HEADROOM_MAX_BODY_BYTES": str(2 * 2**20),
           "HEADROOM_DATA_DIR": str(tmp_path_factory.mktemp("data"))}  # fmt: skip
    with Sidecar(env) as running:
        yield running


def post(sidecar: Sidecar, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{sidecar.url}/v1/compress", content=data,
                      headers={**AUTH, **(headers or {})}, timeout=30)  # fmt: skip


def tool_request(kind: str = "json", size: int = 200, fmt: str = "openai") -> dict:
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    messages = [
        {"role": "user", "content": "check"},
        *step("c1", "Bash", corpus.CONTENT[kind](size)),
    ]
    return {"messages": messages, "model": "claude-sonnet-4-5" if fmt == "anthropic" else "gpt-4o"}


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_compress_answers_the_upstream_contract(sidecar: Sidecar, fmt: str) -> None:
    request = tool_request("pytest", 1500, fmt)
    response = post(sidecar, request)
    assert response.status_code == 200
    body = response.json()
    assert len(body["messages"]) == len(request["messages"])
    assert body["tokens_saved"] == body["tokens_before"] - body["tokens_after"] > 0
    assert 0 < body["compression_ratio"] < 0.35
    assert body["transforms_applied"] and body["ccr_hashes"] == []


def test_liteLLM_style_call_and_retrieve_in_ccr_mode(sidecar: Sidecar) -> None:
    request = tool_request("app_log", 1500) | {"config": {"mode": "ccr"}}
    body = post(sidecar, request, {"x-headroom-user-id": "alice"}).json()
    (key,) = body["ccr_hashes"]
    assert key == key.lower() and 12 <= len(key) <= 24
    found = httpx.get(f"{sidecar.url}/v1/retrieve/{key}", headers={**AUTH,
                      "x-headroom-user-id": "alice"}, params={"query": "ERROR"})  # fmt: skip
    assert found.status_code == 200
    assert found.json()["original_content"] == request["messages"][-1]["content"]
    assert all("ERROR" in line for line in found.json()["matches"])
    other = httpx.get(f"{sidecar.url}/v1/retrieve/{key}",
                      headers={**AUTH, "x-headroom-user-id": "mallory"})  # fmt: skip
    assert other.status_code == 404
    call = {"provider": "openai", "tool_call": {"id": "call_9", "function": {
        "name": "headroom_retrieve", "arguments": json.dumps({"hash": key})}}}  # fmt: skip
    result = httpx.post(f"{sidecar.url}/v1/retrieve/tool_call", json=call,
                        headers={**AUTH, "x-headroom-user-id": "alice"}).json()  # fmt: skip
    assert result["success"] and result["tool_result"]["tool_call_id"] == "call_9"
    assert httpx.get(f"{sidecar.url}/v1/retrieve/{'0' * 24}", headers=AUTH).status_code == 404


def test_bypass_header_returns_the_input_unchanged(sidecar: Sidecar) -> None:
    request = tool_request("json", 200)
    body = post(sidecar, request, {"x-headroom-bypass": "true"}).json()
    assert body["messages"] == request["messages"] and body["compression_ratio"] == 1.0


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"X-Headroom-Proxy-Token": "nope"}]
)
def test_wrong_or_missing_token_is_401(sidecar: Sidecar, headers: dict[str, str]) -> None:
    response = httpx.post(f"{sidecar.url}/v1/compress", json=tool_request(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "unauthorized"
    ok = httpx.post(f"{sidecar.url}/v1/compress", json=tool_request(),
                    headers={"X-Headroom-Proxy-Token": TOKEN}, timeout=30)  # fmt: skip
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/route", 404), ("GET", "/v1/compress", 405), ("DELETE", "/metrics", 405),
     ("PUT", "/v1/retrieve/0123456789abcdef01234567", 405),
     ("GET", "/v1/retrieve/" + "0" * 24, 404)],
)  # fmt: skip
def test_every_error_uses_the_documented_body(
    sidecar: Sidecar, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, f"{sidecar.url}{path}", headers=AUTH, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and sorted(body["error"]) == ["message", "type"]
    assert body["error"]["type"] == {404: "not_found", 405: "method_not_allowed"}[status]


def test_seed_callers_without_a_model_are_served(sidecar: Sidecar) -> None:
    """The seed gateway's clients send no model and put options at the top level."""
    body = tool_request()
    del body["model"]
    body.update(protect_recent=0, min_tokens_to_compress=0)
    response = post(sidecar, body)
    assert response.status_code == 200
    assert len(response.json()["messages"]) == len(body["messages"])
    assert post(sidecar, {**body, "model": ""}).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [(b"{not json", 400, "Invalid JSON"), (b"[]", 400, "JSON object"),
     (b'{"model": "gpt-4o"}', 400, "messages"), (b'{"messages": [], "model": 5}', 400, "model"),
     (b'{"messages": "x", "model": "m"}', 400, "array"),
     (b'{"messages": [{"role": 1}], "model": "m"}', 400, "role"),
     (b'{"messages": [], "model": "m", "config": {"mode": "x"}}', 400, "config.mode")],
)  # fmt: skip
def test_bad_input_gets_a_clear_4xx(
    sidecar: Sidecar, body: bytes, status: int, fragment: str
) -> None:
    response = post(sidecar, body)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]


def test_oversized_body_is_413(sidecar: Sidecar) -> None:
    huge = {"messages": [{"role": "user", "content": "x" * (3 * 2**20)}], "model": "m"}
    response = post(sidecar, huge)
    assert response.status_code == 413
    assert "HEADROOM_MAX_BODY_BYTES" in response.json()["error"]["message"]


def test_session_header_gives_replay_and_metrics_record_it(sidecar: Sidecar) -> None:
    session = corpus.agent_session(6, fmt="anthropic")
    headers = {"x-headroom-session-id": "sess-42"}
    first = post(sidecar, {"messages": session[-2], "model": "claude-sonnet-4-5"}, headers)
    second = post(sidecar, {"messages": session[-1], "model": "claude-sonnet-4-5"}, headers)
    assert second.json()["messages"][: len(session[-2])] == first.json()["messages"]
    assert f"replay:{len(session[-2])}" in second.json()["transforms_applied"]
    metrics = httpx.get(f"{sidecar.url}/metrics").text
    assert "headroom_session_replay_hits_total" in metrics
    assert 'headroom_request_duration_seconds_bucket{le="0.05",outcome="compressed"}' in metrics
    assert "headroom_requests_in_flight" in metrics
    assert 'headroom_requests_by_outcome_total{format="unknown",outcome="rejected"}' in metrics


def test_health_endpoints(sidecar: Sidecar) -> None:
    for path in ("/live", "/livez", "/startup", "/ready", "/readyz", "/health", "/healthz"):
        assert httpx.get(f"{sidecar.url}{path}").status_code == 200, path
    ready = httpx.get(f"{sidecar.url}/ready").json()
    assert ready["shared_state"] == "ok" and ready["stores"] == {
        "sessions": True,
        "originals": True,
    }


def test_non_loopback_bind_without_token_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--host", "0.0.0.0", "--port", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )  # fmt: skip
    assert result.returncode == 2 and "HEADROOM_PROXY_TOKEN" in result.stderr


@pytest.mark.parametrize("setting", ["HEADROOM_PRICING_FILE", "HEADROOM_PRICE_MAP_FILE"])
def test_unreadable_prices_refuse_to_start_with_one_line(setting: str, tmp_path: Path) -> None:
    """Wrong prices would mislead chargeback: the process says why and exits, no traceback."""
    broken = tmp_path / "prices.json"
    broken.write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--port", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), setting: str(broken),
             "HEADROOM_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "prices refused" in result.stderr and str(broken) in result.stderr
    assert "Traceback" not in result.stderr


def test_compress_cli_reads_a_file(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(tool_request("cargo", 800)))
    result = subprocess.run([sys.executable, "-m", "sidecar", "compress", str(request)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tokens_saved"] > 0
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    failed = subprocess.run([sys.executable, "-m", "sidecar", "compress", str(bad)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert failed.returncode == 2 and "error" in failed.stderr


OFFLINE_PROBE = """
import asyncio, json, socket, sys
attempts = []
def audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        attempts.append(repr(args[1] if event == "socket.connect" else args[:2]))
sys.addaudithook(audit)
from adapters.settings import Settings
from adapters.bootstrap import bootstrap
from core.service import CompressRequest
from core.policy import CompressOptions
from tests import corpus
services = bootstrap(Settings(data_dir=sys.argv[1]))
services.warm()
steps = (corpus.tool_turn_openai, corpus.tool_turn_anthropic)
for kind in sorted(corpus.CONTENT):
    for step in steps:
        output = corpus.CONTENT[kind](150)
        messages = [{"role": "user", "content": "go"}, *step("c", "Bash", output)]
        for model in ("gpt-4o", "claude-sonnet-4-5", "gpt-4.1-mini"):
            options = CompressOptions(ccr=True)
            request = CompressRequest(messages=messages, model=model, options=options)
            asyncio.run(services.service.compress(request))
print(json.dumps(attempts))
"""


def test_compress_makes_no_outbound_connection(tmp_path: Path) -> None:
    """An audit hook sees every connect and DNS lookup the process makes, from any library."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", OFFLINE_PROBE, str(tmp_path / "data")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
