"""Lambda event payloads as AWS sends them for the three HTTP front doors.

Function URLs and API Gateway HTTP APIs send payload format 2.0 (they differ only in the
request context); API Gateway REST APIs send format 1.0. Shapes follow the AWS developer
guide's sample events, trimmed to the fields a proxy integration carries.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from tests import corpus

_TIME = "12/Mar/2026:19:03:58 +0000"
_EPOCH_MS = 1773342238000


def _body(body: bytes | str | dict[str, Any] | None, b64: bool) -> tuple[str | None, int]:
    if body is None:
        return None, 0
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    raw = raw.encode() if isinstance(raw, str) else raw
    return (base64.b64encode(raw).decode() if b64 else raw.decode()), len(raw)


def _headers(extra: dict[str, str] | None, length: int, host: str) -> dict[str, str]:
    headers = {"host": host, "user-agent": "headroom-tests", "accept": "*/*",
               "x-forwarded-proto": "https", "x-forwarded-port": "443"}  # fmt: skip
    if length:
        headers.update({"content-type": "application/json", "content-length": str(length)})
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    return headers


def _v2(method: str, path: str, body: Any, headers: dict[str, str] | None, query: str,
        b64: bool, domain: str, route_key: str) -> dict[str, Any]:  # fmt: skip
    encoded, length = _body(body, b64)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": _headers(headers, length, domain),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": domain.split(".")[0],
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "headroom-tests",
            },  # fmt: skip
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": _TIME,
            "timeEpoch": _EPOCH_MS,
        },
        "isBase64Encoded": b64,
    }
    if query:
        event["queryStringParameters"] = {k: v[-1] for k, v in parse_qs(query).items()}
    if encoded is not None:
        event["body"] = encoded
    return event


def function_url(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                 query: str = "", b64: bool = False) -> dict[str, Any]:  # fmt: skip
    """A Lambda Function URL request (payload format 2.0)."""
    domain = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"
    return _v2(method, path, body, headers, query, b64, domain, "$default")


def http_api(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             query: str = "", b64: bool = False) -> dict[str, Any]:  # fmt: skip
    """An API Gateway HTTP API request with a `$default` proxy route (payload format 2.0)."""
    domain = "r3pmxmplak.execute-api.us-east-1.amazonaws.com"
    return _v2(method, path, body, headers, query, b64, domain, "$default")


def rest_api(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             query: dict[str, str] | None = None, b64: bool = False) -> dict[str, Any]:  # fmt: skip
    """An API Gateway REST API request through a `/{proxy+}` resource (payload format 1.0)."""
    encoded, length = _body(body, b64)
    all_headers = _headers(headers, length, "1234567890.execute-api.us-east-1.amazonaws.com")
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "1234567890",
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{path}",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTime": _TIME,
            "requestTimeEpoch": _EPOCH_MS,
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "headroom-tests"},
        },
        "body": encoded,
        "isBase64Encoded": b64,
    }


def tool_request(kind: str = "json", size: int = 60, fmt: str = "openai",
                 config: dict[str, Any] | None = None, tool: str | None = None,
                 ) -> dict[str, Any]:  # fmt: skip
    """A /v1/compress body: one agent tool step whose output is `size` units of `kind`."""
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    output = corpus.CONTENT[kind](size)
    messages = [{"role": "user", "content": "Why is the deploy failing?"},
                *step("call_1", tool or corpus.TOOL_FOR[kind], output)]  # fmt: skip
    body: dict[str, Any] = {
        "messages": messages,
        "model": "gpt-4o" if fmt == "openai" else "claude-sonnet-4-5",
    }
    if config is not None:
        body["config"] = config
    return body


def response_json(response: dict[str, Any]) -> Any:
    """The JSON body of a Mangum response, decoding base64 when Mangum chose it."""
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return json.loads(raw)
