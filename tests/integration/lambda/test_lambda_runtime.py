"""The packaged zip, unpacked and run by AWS's runtime client (awslambdaric) on CPython 3.12,
invoked through a local Runtime API: what a deployed function does, minus AWS's front door.

Only the artifact and the runtime client are importable by that process, so a module the
zip lacks fails here as it would in AWS.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.servers import shared_state_env

from .conftest import Container, RepoHandler, container
from .lambda_events import function_url, http_api, response_json, rest_api, tool_request
from .lambda_harness import Invocation, LambdaRuntime, runtime_client

pytestmark = pytest.mark.integration

LIMIT = 6 * 2**20


def invoke(warm: Container, event: dict[str, Any]) -> tuple[dict[str, Any], Invocation]:
    """One invocation; the function must answer (not raise) with a JSON HTTP response."""
    invocation = warm.runtime.invoke(event)
    assert invocation.outcome == "response", invocation.payload[:3000]
    return invocation.json(), invocation


def compress(warm: Container, event: dict[str, Any]) -> dict[str, Any]:
    """A compress invocation. AWS refuses events over 6 MB, and refuses responses over 6 MB
    (a 502 to the caller); a response no bigger than its event therefore always fits."""
    response, invocation = invoke(warm, event)
    assert len(invocation.payload) <= invocation.event_bytes
    return response


def session() -> dict[str, str]:
    return {"x-headroom-session-id": uuid.uuid4().hex}


def test_init_warms_the_engines_before_the_first_invocation(lambda_container: Container) -> None:
    assert 0 < lambda_container.init_seconds < 30
    assert lambda_container.first_ready.outcome == "response"
    first = lambda_container.first_ready.json()
    assert first["statusCode"] == 200, first
    assert response_json(first)["status"] == "ready"
    live, _ = invoke(lambda_container, http_api("GET", "/live"))
    assert live["statusCode"] == 200


@pytest.mark.parametrize(
    ("fmt", "kind", "make_event"),
    [("openai", "json", function_url), ("anthropic", "build_log", http_api),
     ("openai", "grep", rest_api), ("anthropic", "html", function_url)],
)  # fmt: skip
def test_compress_matches_the_repo_handler_byte_for_byte(
    lambda_container: Container, repo_handler: RepoHandler, fmt: str, kind: str, make_event: Any
) -> None:
    """Same answer as the repo's code under the dev venv: every engine the path needs is in
    the zip, and token counts come from the shipped tiktoken vocabulary (a missing one
    would silently fall back to a character estimate and change every count)."""
    size = {"json": 60, "build_log": 400, "grep": 200, "html": 20}[kind]
    request = tool_request(kind, size, fmt, tool="fetch_url" if kind == "html" else None)
    headers = session()
    packaged = compress(lambda_container, make_event("POST", "/v1/compress", request, headers))
    assert packaged["statusCode"] == 200, packaged
    body = response_json(packaged)
    assert body["tokens_saved"] > 0 and body["transforms_applied"]
    assert len(body["messages"]) == len(request["messages"])
    in_repo = repo_handler(make_event("POST", "/v1/compress", request, headers))
    assert packaged["body"] == in_repo["body"]


def test_ccr_hash_resolves_in_the_same_warm_container(lambda_container: Container) -> None:
    request = tool_request("app_log", 1500, "anthropic", config={"mode": "ccr"})
    response = compress(lambda_container, function_url("POST", "/v1/compress", request, session()))
    (key,) = response_json(response)["ccr_hashes"]
    found, _ = invoke(lambda_container, function_url("GET", f"/v1/retrieve/{key}"))
    assert found["statusCode"] == 200
    original = request["messages"][-1]["content"][0]["content"]
    assert response_json(found)["original_content"] == original
    via_rest, _ = invoke(lambda_container, rest_api("GET", f"/v1/retrieve/{key}",
                                                    query={"query": "ERROR"}))  # fmt: skip
    assert response_json(via_rest)["matches"]
    unknown, _ = invoke(lambda_container, function_url("GET", f"/v1/retrieve/{'f' * 24}"))
    assert unknown["statusCode"] == 404
    assert response_json(unknown)["error"]["type"] == "not_found"


def test_base64_encoded_body(lambda_container: Container) -> None:
    request = tool_request("json", 60)
    event = function_url("POST", "/v1/compress", request, session(), b64=True)
    response = compress(lambda_container, event)
    assert response["statusCode"] == 200
    assert response_json(response)["tokens_saved"] > 0


def test_requests_are_priced_from_the_shipped_price_map(lambda_container: Container) -> None:
    """litellm is not in the zip; its price map is, so usage carries dollars (metrics, OTLP,
    ledger) instead of counting every request as unpriced."""
    response = compress(
        lambda_container, function_url("POST", "/v1/compress", tool_request("json", 60), session())
    )
    assert response["statusCode"] == 200
    scraped, _ = invoke(lambda_container, function_url("GET", "/metrics"))
    body = scraped.get("body") or ""
    text = base64.b64decode(body).decode() if scraped.get("isBase64Encoded") else body
    costs = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if line.startswith("headroom_usage_cost_usd_total{")
             and 'scenario="without_headroom"' in line]  # fmt: skip
    assert costs and sum(costs) > 0, text[:2000]
    assert not [line for line in text.splitlines()
                if line.startswith("headroom_usage_unpriced_requests_total{")]  # fmt: skip


def test_body_over_6_mib_is_a_413_json_error(lambda_container: Container) -> None:
    request = {"messages": [{"role": "user", "content": "y" * LIMIT}], "model": "gpt-4o"}
    response, _ = invoke(lambda_container, function_url("POST", "/v1/compress", request))
    assert response["statusCode"] == 413
    assert response["headers"]["content-type"] == "application/json"
    error = response_json(response)["error"]
    assert error["type"] == "request_too_large" and str(LIMIT) in error["message"]


def test_malformed_json_is_400(lambda_container: Container) -> None:
    response, _ = invoke(lambda_container, http_api("POST", "/v1/compress", b'{"messages": ['))
    assert response["statusCode"] == 400
    assert "Invalid JSON" in response_json(response)["error"]["message"]


@pytest.mark.parametrize("headers", [{}, {"x-headroom-bypass": "true"}])
def test_incompressible_request_response_still_fits(
    lambda_container: Container, headers: dict[str, str]
) -> None:
    """Nothing to save (prose passes through, or bypass): the body grows by the stats
    fields only, and the response payload stays within the event AWS accepted."""
    request = tool_request("prose", 400, "anthropic")
    raw = json.dumps(request, separators=(",", ":"))
    event = function_url("POST", "/v1/compress", raw, {**session(), **headers})
    response = compress(lambda_container, event)
    body = response_json(response)
    assert body["tokens_saved"] == 0 and body["messages"] == request["messages"]
    assert len(response["body"]) - len(raw) < 300


def test_memory_stays_within_a_1024_mb_function(lambda_container: Container) -> None:
    assert lambda_container.runtime.peak_rss_bytes() < 1024 * 2**20


def test_two_containers_share_redis_sessions_and_s3_originals(
    task_root: Path, python312: str, redis_url: str, s3_endpoint: str, tmp_path: Path
) -> None:
    """The production shape (ElastiCache + S3): a hash made in one container resolves in
    another, through the redis and boto3 clients the zip carries."""
    env = shared_state_env(redis_url, s3_endpoint, cluster_id=f"lambda-{uuid.uuid4().hex[:8]}")
    request = tool_request("app_log", 1500, config={"mode": "ccr"})
    with container(task_root, python312, tmp_path / "a", env) as first:
        ready = response_json(first.first_ready.json())
        assert ready["shared_state"] == "ok", ready
        body = response_json(compress(first, function_url("POST", "/v1/compress", request)))
        (key,) = body["ccr_hashes"]
    with container(task_root, python312, tmp_path / "b", env) as second:
        found, _ = invoke(second, http_api("GET", f"/v1/retrieve/{key}"))
        assert found["statusCode"] == 200
        assert response_json(found)["original_content"] == request["messages"][-1]["content"]


def test_a_bad_setting_fails_the_init_phase_with_its_error(
    task_root: Path, python312: str, tmp_path: Path
) -> None:
    """Configuration errors surface as Lambda init errors (logged, retried by AWS), not as
    failures of every request."""
    env = {"HEADROOM_PROFILE": "mainframe"}
    runtime = LambdaRuntime(task_root, python312, runtime_client(python312), tmp_path, env)
    runtime.start()
    try:
        with pytest.raises(RuntimeError, match="init failed"):
            runtime.wait_initialised(timeout=30)
        assert runtime.api.init_error is not None
        error = json.loads(runtime.api.init_error)
        assert error["errorType"] == "ValidationError" and "profile" in error["errorMessage"]
    finally:
        runtime.stop()
