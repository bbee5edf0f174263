"""lambda/handler.py called in this process with real event shapes (no runtime client).

Fast checks of what the handler module itself decides: init-time warm-up, Mangum's
lifespan off, the three event formats, base64 bodies and the body limit's meaning.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import RepoHandler
from .lambda_events import function_url, http_api, response_json, rest_api, tool_request

pytestmark = pytest.mark.integration

LIMIT = 6 * 2**20  # the lambda profile's HEADROOM_MAX_BODY_BYTES
EVENT_KINDS: dict[str, Callable[..., dict[str, Any]]] = {
    "function_url": function_url,
    "http_api": http_api,
    "rest_api": rest_api,
}


def session() -> dict[str, str]:
    return {"x-headroom-session-id": uuid.uuid4().hex}


def test_engines_warm_during_import_not_on_first_request(repo_handler: RepoHandler) -> None:
    assert repo_handler.module.services.service.ready
    assert repo_handler.module.handler.lifespan == "off"
    assert repo_handler.module.services.settings.profile == "lambda"
    assert repo_handler.module.services.settings.max_body_bytes == LIMIT
    ready = repo_handler(function_url("GET", "/ready"))
    assert ready["statusCode"] == 200
    assert response_json(ready)["status"] == "ready"


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_compress_through_each_event_format(repo_handler: RepoHandler, kind: str) -> None:
    request = tool_request("json", 60)
    response = repo_handler(EVENT_KINDS[kind]("POST", "/v1/compress", request, session()))
    assert response["statusCode"] == 200, response
    body = response_json(response)
    assert [m["role"] for m in body["messages"]] == [m["role"] for m in request["messages"]]
    assert body["messages"][1]["tool_calls"][0]["id"] == "call_1"
    assert body["messages"][2]["tool_call_id"] == "call_1"
    assert body["tokens_saved"] > 0 and body["tokens_after"] < body["tokens_before"]
    assert len(response["body"]) < len(json.dumps(request))


def test_every_invocation_keeps_compressing(repo_handler: RepoHandler) -> None:
    """With Mangum's lifespan on, the app's shutdown would close the services after each
    invocation; later requests would then fail open (answer unchanged)."""
    for kind in ("json", "build_log", "json"):
        response = repo_handler(function_url("POST", "/v1/compress", tool_request(kind, 60),
                                             session()))  # fmt: skip
        assert response_json(response)["tokens_saved"] > 0, kind


@pytest.mark.parametrize("kind", ["function_url", "rest_api"])
def test_base64_body_is_decoded(repo_handler: RepoHandler, kind: str) -> None:
    request = tool_request("build_log", 300, fmt="anthropic")
    plain = repo_handler(EVENT_KINDS[kind]("POST", "/v1/compress", request, session()))
    encoded_event = EVENT_KINDS[kind]("POST", "/v1/compress", request, session(), b64=True)
    assert encoded_event["isBase64Encoded"] and encoded_event["body"][0] != "{"
    encoded = repo_handler(encoded_event)
    assert encoded["statusCode"] == 200
    assert response_json(encoded) == response_json(plain)
    assert response_json(encoded)["tokens_saved"] > 0


def _oversized(decoded_bytes: int) -> dict[str, Any]:
    filler = "x" * (decoded_bytes - 66)
    request = {"messages": [{"role": "user", "content": filler}], "model": "gpt-4o"}
    raw = json.dumps(request).encode()
    assert len(raw) == decoded_bytes
    return request


@pytest.mark.parametrize("b64", [False, True])
def test_body_over_6_mib_gets_a_413_json_error(repo_handler: RepoHandler, b64: bool) -> None:
    event = function_url("POST", "/v1/compress", _oversized(LIMIT + 1), b64=b64)
    response = repo_handler(event)
    assert response["statusCode"] == 413
    error = response_json(response)["error"]
    assert error["type"] == "request_too_large"
    assert str(LIMIT) in error["message"] and "HEADROOM_MAX_BODY_BYTES" in error["message"]


def test_limit_applies_to_the_decoded_body(repo_handler: RepoHandler) -> None:
    """Base64 adds a third on the wire; the limit is on the bytes the app reads, as on
    every other target. (AWS's own 6 MB event limit, on the encoded event, comes first.)"""
    request = _oversized(LIMIT - 1024)
    event = function_url("POST", "/v1/compress", request, {"x-headroom-bypass": "true"}, b64=True)
    assert len(base64.b64decode(event["body"])) < LIMIT < len(event["body"])
    response = repo_handler(event)
    assert response["statusCode"] == 200
    assert response_json(response)["messages"] == request["messages"]


def test_body_limit_without_a_content_length_header(repo_handler: RepoHandler) -> None:
    event = function_url("POST", "/v1/compress", _oversized(LIMIT + 10))
    del event["headers"]["content-length"]
    assert repo_handler(event)["statusCode"] == 413


@pytest.mark.parametrize(("body", "fragment"), [(b"{not json", "Invalid JSON"),
                                                (b"[1, 2]", "JSON object")])  # fmt: skip
def test_malformed_json_is_400(repo_handler: RepoHandler, body: bytes, fragment: str) -> None:
    response = repo_handler(http_api("POST", "/v1/compress", body))
    assert response["statusCode"] == 400
    error = response_json(response)["error"]
    assert error["type"] == "invalid_request" and fragment in error["message"]


def test_ccr_original_is_retrievable_through_rest_and_http_events(
    repo_handler: RepoHandler,
) -> None:
    request = tool_request("app_log", 1500, config={"mode": "ccr"})
    body = response_json(repo_handler(function_url("POST", "/v1/compress", request, session())))
    (key,) = body["ccr_hashes"]
    original = request["messages"][-1]["content"]
    found = repo_handler(rest_api("GET", f"/v1/retrieve/{key}", query={"query": "ERROR"}))
    assert found["statusCode"] == 200
    assert response_json(found)["original_content"] == original
    assert response_json(found)["matches"]
    assert all("ERROR" in line for line in response_json(found)["matches"])
    via_v2 = repo_handler(http_api("GET", f"/v1/retrieve/{key}"))
    assert response_json(via_v2)["original_content"] == original
    missing = repo_handler(http_api("GET", f"/v1/retrieve/{'0' * 24}"))
    assert missing["statusCode"] == 404
    assert response_json(missing)["error"]["type"] == "not_found"
