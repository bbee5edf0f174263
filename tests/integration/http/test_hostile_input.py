"""Issue 9's defects, each tried against a real sidecar over real sockets on loopback."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import corpus
from tests.processes import REPO, Sidecar

READ_TIMEOUT = 1.0
HEADER_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    env = {"HEADROOM_DATA_DIR": str(tmp_path_factory.mktemp("data")),
           "HEADROOM_BODY_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
           "HEADROOM_HEADER_READ_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
           "HEADROOM_MAX_BODY_BYTES": str(2**20)}  # fmt: skip
    with Sidecar(env) as running:
        yield running


def strict_json(data: bytes) -> Any:
    """Parse as a strict client would: UTF-8, no NaN/Infinity."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} in a response")

    return json.loads(data.decode("utf-8"), parse_constant=refuse)


def raw_post(sidecar: Sidecar, body: bytes, headers: dict[str, str] | None = None,
             path: str = "/v1/compress") -> httpx.Response:  # fmt: skip
    return httpx.post(f"{sidecar.url}{path}", content=body, timeout=30,
                      headers={"content-type": "application/json", **(headers or {})})  # fmt: skip


def exchange(sidecar: Sidecar, request: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes on a fresh connection; everything read until the server closes it."""
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=wait) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def http_request(body: bytes, path: str = "/v1/compress", extra: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body  # fmt: skip


SURROGATE_BODIES = [
    b'{"messages":[{"role":"user","content":"\\ud800"}]}',
    b'{"messages":[{"role":"user","content":[{"type":"text","text":"a\\udfff"}]}]}',
    b'{"messages":[{"role":"tool","tool_call_id":"\\ud83d","content":"' + b"x\\ud800" * 400
    + b'"}]}',
    b'{"messages":[{"role":"user","content":"x","\\udc00key":1}]}',
    b'{"messages":[{"role":"user","content":"x"}],"config":{"session_id":"\\ud800"}}',
]  # fmt: skip


@pytest.mark.parametrize("body", SURROGATE_BODIES)
def test_lone_surrogates_are_answered_with_valid_json(sidecar: Sidecar, body: bytes) -> None:
    response = raw_post(sidecar, body)
    assert response.status_code == 200
    answered = strict_json(response.content)
    assert answered["messages"] == json.loads(body)["messages"]


def test_raw_surrogate_bytes_are_a_clear_400(sidecar: Sidecar) -> None:
    response = raw_post(sidecar, b'{"messages":[{"role":"user","content":"\xed\xa0\x80"}]}')
    assert response.status_code == 400 and "UTF-8" in response.json()["error"]["message"]


def test_retrieve_tool_call_with_a_surrogate_id_answers_json(sidecar: Sidecar) -> None:
    call = (b'{"provider":"anthropic","tool_call":{"id":"\\ud800","name":"headroom_retrieve",'
            b'"input":{"hash":"0123456789abcdef01234567"}}}')  # fmt: skip
    response = raw_post(sidecar, call, path="/v1/retrieve/tool_call")
    assert response.status_code == 200
    assert strict_json(response.content)["tool_result"]["tool_use_id"] == "\ud800"


@pytest.mark.parametrize("where", ["message", "content", "config", "tool_input"])
def test_deep_nesting_is_a_clear_400(sidecar: Sidecar, where: str) -> None:
    deep = "[" * 1000 + "]" * 1000
    body = {
        "message": f'{{"messages":[{{"role":"user","content":"x","k":{deep}}}]}}',
        "content": f'{{"messages":[{{"role":"user","content":[{{"type":"text","text":"x",'
                   f'"k":{deep}}}]}}]}}',
        "config": f'{{"messages":[],"config":{{"k":{deep}}}}}',
        "tool_input": f'{{"messages":[{{"role":"assistant","content":[{{"type":"tool_use",'
                      f'"id":"t","name":"n","input":{{"a":{deep}}}}}]}}]}}',
    }[where].encode()  # fmt: skip
    response = raw_post(sidecar, body)
    assert response.status_code == 400
    assert "nests deeper" in response.json()["error"]["message"]


def test_deeply_nested_tool_call_arguments_are_a_clear_400(sidecar: Sidecar) -> None:
    arguments = "[" * 100_000 + "]" * 100_000
    call = {"provider": "openai", "tool_call": {"id": "c", "function": {
        "name": "headroom_retrieve", "arguments": arguments}}}  # fmt: skip
    response = raw_post(sidecar, json.dumps(call).encode(), path="/v1/retrieve/tool_call")
    assert response.status_code == 400 and "arguments" in response.json()["error"]["message"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_refused_not_echoed(sidecar: Sidecar, literal: bytes) -> None:
    body = b'{"messages":[{"role":"user","content":"x","n":' + literal + b"}]}"
    response = raw_post(sidecar, body)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request"


def test_the_cli_refuses_nan_too(tmp_path: Path) -> None:
    request = tmp_path / "nan.json"
    request.write_bytes(b'{"messages":[{"role":"user","content":"x","n":NaN}]}')
    result = subprocess.run([sys.executable, "-m", "sidecar", "compress", str(request)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "NaN" in result.stderr and result.stdout == ""


def test_a_malformed_setting_is_one_line_and_exit_2() -> None:
    env = {**os.environ, "HEADROOM_PORT": "abc"}
    result = subprocess.run([sys.executable, "-m", "sidecar", "serve"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "HEADROOM_PORT" in result.stderr


def test_messages_left_alone_keep_their_exact_bytes(sidecar: Sidecar) -> None:
    user = '{"role": "user", "content": "caf\\u00e9", "n": 1e9}'
    read = ('{"role":"tool","tool_call_id":"c1","big":12345678901234567890.123,"content":'
            + json.dumps(corpus.file_read(300)) + "}")  # fmt: skip
    call = ('{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",'
            '"function":{"name":"Read","arguments":"{}"}}]}')  # fmt: skip
    log = json.dumps(corpus.tool_turn_openai("c2", "Bash", corpus.app_log(400))[1])
    body = f'{{"model":"gpt-4o","messages":[{user},{call},{read},{log}]}}'.encode()
    for headers in ({}, {"x-headroom-bypass": "1"}, {"x-headroom-bypass": "yes"}):
        response = raw_post(sidecar, body, headers)
        assert response.status_code == 200
        for text in (user, call, read):
            assert text.encode() in response.content, headers
        bypassed = response.headers["x-headroom-outcome"] == "bypassed"
        assert bypassed == bool(headers)
        assert (log.encode() in response.content) == bypassed  # compressed unless bypassed


def test_long_tenant_ids_sharing_a_prefix_never_share_originals(sidecar: Sidecar) -> None:
    prefix = "t" * 300
    request = {"messages": [{"role": "user", "content": "x"},
                            *corpus.tool_turn_openai("c1", "Bash", corpus.app_log(800))],
               "config": {"mode": "ccr"}}  # fmt: skip
    owner = {"x-headroom-user-id": prefix + "-alice"}
    response = raw_post(sidecar, json.dumps(request).encode(), owner)
    (key,) = response.json()["ccr_hashes"]
    url = f"{sidecar.url}/v1/retrieve/{key}"
    assert httpx.get(url, headers=owner).status_code == 200
    assert httpx.get(url, headers={"x-headroom-user-id": prefix + "-bob"}).status_code == 404


def test_a_stalled_body_gets_408_within_the_timeout(sidecar: Sidecar) -> None:
    head = (b"POST /v1/compress HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n")  # fmt: skip
    started = time.perf_counter()
    answer = exchange(sidecar, head + b'{"messages":', wait=READ_TIMEOUT + 10)
    elapsed = time.perf_counter() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()
    assert READ_TIMEOUT <= elapsed < READ_TIMEOUT + 5  # answered, and the connection closed
    assert strict_json(answer.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "request_timeout"


def test_headers_trickled_byte_by_byte_get_408_at_the_deadline(sidecar: Sidecar) -> None:
    """Slowloris: each byte arrives before any per-read timeout would fire, but the headers
    never finish. The deadline runs from the connection, not from the last byte."""
    head = b"POST /v1/compress HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    timeouts_before = timeouts_answered(sidecar)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=HEADER_TIMEOUT + 10) as sock:
        answer = b""
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # closed on us: what follows is the answer
                break
            time.sleep(0.1)
            if time.perf_counter() - started > HEADER_TIMEOUT + 10:
                break
        while chunk := sock.recv(65536):
            answer += chunk
    elapsed = time.perf_counter() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"connection: close" in answer.lower()
    assert strict_json(answer.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "request_timeout"
    assert HEADER_TIMEOUT <= elapsed < HEADER_TIMEOUT + 5  # 200 bytes would take 20 s
    assert timeouts_answered(sidecar) == timeouts_before + 1


def timeouts_answered(sidecar: Sidecar) -> float:
    """headroom_http_errors_total{status="408"}, 0 before the first."""
    for line in httpx.get(f"{sidecar.url}/metrics").text.splitlines():
        if line.startswith('headroom_http_errors_total{status="408"} '):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(sidecar: Sidecar) -> None:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=HEADER_TIMEOUT + 10) as sock:
        assert sock.recv(65536) == b""  # closed without an answer: there was no request
    assert HEADER_TIMEOUT <= time.perf_counter() - started < HEADER_TIMEOUT + 5


def test_a_keep_alive_connection_outlives_the_header_deadline_between_requests(
    sidecar: Sidecar,
) -> None:
    """The deadline covers each request's headers, not an idle kept-alive connection (that
    is uvicorn's keep-alive timeout, 5 s): one socket, requests further apart than it."""
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head, _, body = read_response(sock)
            assert head.startswith(b"HTTP/1.1 200 ") and json.loads(body)["status"] == "ok"
            time.sleep(HEADER_TIMEOUT * 1.5)


def read_response(sock: socket.socket) -> tuple[bytes, bytes, bytes]:
    """One HTTP/1.1 response with a Content-Length, read off a kept-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return head, b"", body


@pytest.mark.parametrize("extra", [b"X-Big: " + b"a" * 40_000 + b"\r\n",
                                   b"".join(b"X-H%d: v\r\n" % i for i in range(150))])  # fmt: skip
def test_too_many_or_too_large_headers_get_431(sidecar: Sidecar, extra: bytes) -> None:
    answer = exchange(sidecar, http_request(b"{}", extra=extra))
    assert answer.startswith(b"HTTP/1.1 431 ") and b"connection: close" in answer.lower()
    body = strict_json(answer.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["type"] == "request_header_fields_too_large"


def test_keep_alive_survives_a_400_and_is_closed_explicitly_after_a_413(
    sidecar: Sidecar,
) -> None:
    bad = http_request(b'{"messages":[{"role":"user","content":"x","n":NaN}]}')
    good = http_request(b'{"messages":[{"role":"user","content":"x"}]}')
    answer = exchange(sidecar, bad + good, wait=3)
    assert answer.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 200 " in answer
    too_big = b"POST /v1/compress HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"
    answer = exchange(sidecar, too_big + b"{", wait=3)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()


def test_every_error_is_counted_by_status(sidecar: Sidecar) -> None:
    exchange(sidecar, http_request(b"{}", extra=b"X-Big: " + b"a" * 40_000 + b"\r\n"))
    raw_post(sidecar, b"{")
    metrics = httpx.get(f"{sidecar.url}/metrics").text
    for status in ("400", "431"):
        line = next(
            x
            for x in metrics.splitlines()
            if x.startswith(f'headroom_http_errors_total{{status="{status}"}}')
        )
        assert float(line.split()[-1]) >= 1
    assert "headroom_requests_queued " in metrics
    assert "headroom_compressions_running " in metrics


def test_gzip_and_deflate_bodies_are_inflated(sidecar: Sidecar) -> None:
    turn = corpus.tool_turn_openai("c1", "Bash", corpus.app_log(400))
    request = {"messages": [{"role": "user", "content": "x"}, *turn]}
    raw = json.dumps(request).encode()
    for encoding, packed in (("gzip", gzip.compress(raw)), ("deflate", zlib.compress(raw))):
        response = raw_post(sidecar, packed, {"content-encoding": encoding})
        assert response.status_code == 200, response.text
        assert response.headers["x-headroom-outcome"] == "compressed"


@pytest.mark.parametrize(
    ("encoding", "body", "status"),
    [("gzip", b"not gzip at all", 400), ("gzip", gzip.compress(b"{}")[:-6], 400),
     ("gzip", gzip.compress(b" " * (3 * 2**20)), 413), ("br", b"{}", 415)],
)  # fmt: skip
def test_bad_or_oversized_encoded_bodies_are_clear_4xx(
    sidecar: Sidecar, encoding: str, body: bytes, status: int
) -> None:
    response = raw_post(sidecar, body, {"content-encoding": encoding})
    assert response.status_code == status
    assert set(strict_json(response.content)["error"]) == {"type", "message"}
