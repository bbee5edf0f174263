"""The fake provider: a real HTTP/1.1 server on a free loopback port, in a background thread.

Routes: Anthropic `POST /v1/messages` (any query, e.g. `?beta=true`) and
`/v1/messages/count_tokens`; OpenAI `POST /v1/chat/completions` and `/v1/responses`;
`GET /v1/models`. Anything else is a 404 in Anthropic's error shape.

Each answer comes from, in order: the queue (`enqueue`), `model` (a callable; None passes),
the retrieve model (calls `headroom_retrieve` on CCR markers), then `default_text`.
Streams are chunked SSE written event by event with `ttft` before the first event and
`chunk_delay` between the others; the times each event left are recorded.
Every request is recorded (method, path, headers as sent, raw body) with its outcome.
Real SDK clients retry 429/529 on their own: give them `max_retries=0` when asserting errors.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fake_provider import anthropic_wire, openai_wire
from tests.fake_provider.cache import CacheUsage, PrefixCache, prompt_bytes, tokens
from tests.fake_provider.ids import new_id
from tests.fake_provider.script import (
    Api,
    ErrorReply,
    Exchange,
    Model,
    Reply,
    exchange_of,
    retrieve_model,
)

ROUTES: dict[str, Api] = {"/v1/messages": "anthropic", "/v1/chat/completions": "chat",
                          "/v1/responses": "responses"}  # fmt: skip


@dataclass
class RecordedRequest:
    """One request as it reached the provider, and how its answer went.

    `outcome`: "pending" while answering, then "completed", "error" (a scripted error was sent,
    before or inside the stream), "cut" (the scripted connection drop) or "disconnected" (the
    client went away mid-answer). `sent_at`: perf_counter() of each
    streamed event as it was flushed.
    """

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    received_at: float
    api: Api | None = None
    outcome: str = "pending"
    sent_at: list[float] = field(default_factory=list)
    reply: Reply | ErrorReply | None = None
    usage: CacheUsage | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def header_names(self) -> list[str]:
        return [k.lower() for k, _ in self.headers]

    def json(self) -> Any:
        return json.loads(self.body)

    def settled_outcome(self, timeout: float = 5.0) -> str:
        """The outcome once the handler has finished: a client holds the last byte of the
        answer a moment before the handler thread records how it went."""
        self.done.wait(timeout)
        return self.outcome


class FakeProvider:
    """Start with `start()` or `with FakeProvider() as fake:`; `fake.url` is the base URL."""

    def __init__(
        self,
        *,
        ttft: float = 0.0,
        chunk_delay: float = 0.0,
        chunk_chars: int = 16,
        model: Model | None = None,
        default_text: str = "Hello from the fake provider.",
        api_key: str | None = None,
    ) -> None:
        self.ttft = ttft
        self.chunk_delay = chunk_delay
        self.chunk_chars = chunk_chars
        self.model = model
        self.default_text = default_text
        self.api_key = api_key
        self.cache = PrefixCache()
        self._queue: deque[Reply | ErrorReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeProvider not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProvider:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-provider",
                                        kwargs={"poll_interval": 0.05}, daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # scripting and assertions ------------------------------------------------------------

    def enqueue(self, *replies: Reply | ErrorReply) -> None:
        """Answers for the next generation requests, in order, before `model` is asked."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
        self.cache.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def generations(self) -> list[RecordedRequest]:
        """Requests to the three generation routes (not count_tokens, models or unknown)."""
        return [r for r in self.requests if r.api is not None]

    def wait_for(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0
    ) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.requests):
                return True
            time.sleep(0.01)
        return predicate(self.requests)

    # answering (called on the server's threads) --------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _answer(self, exchange: Exchange) -> Reply | ErrorReply:
        with self._lock:
            queued = self._queue.popleft() if self._queue else None
        if queued is not None:
            return queued
        for model in (self.model, retrieve_model):
            reply = model(exchange) if model is not None else None
            if reply is not None:
                return reply
        return Reply.say(self.default_text)

    def _authorised(self, api: Api, request: RecordedRequest) -> bool:
        if self.api_key is None:
            return True
        bearer = request.header("authorization") or ""
        if api == "anthropic" and request.header("x-api-key") == self.api_key:
            return True
        return bearer == f"Bearer {self.api_key}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # 64+ clients may connect at once (the default backlog is 5)


def _handler_for(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = provider

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each SSE event leaves at once, as from the real APIs
    fake: FakeProvider

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded requests instead."""

    def do_GET(self) -> None:
        request = self._receive()
        if request.route == "/v1/models":
            models = {"data": [{"id": "fake-model", "object": "model", "type": "model",
                                "display_name": "Fake", "created_at": "2026-01-01T00:00:00Z"}],
                      "object": "list", "has_more": False, "first_id": "fake-model",
                      "last_id": "fake-model"}  # fmt: skip
            self._send_json(request, 200, models)
        else:
            self._not_found(request)

    def do_POST(self) -> None:
        request = self._receive()
        route = request.route
        if route == "/v1/messages/count_tokens":
            body = self._parse(request, "anthropic")
            if body is not None:
                count = tokens(len(prompt_bytes("anthropic", body)))
                self._send_json(request, 200, {"input_tokens": count})
            return
        api = ROUTES.get(route)
        if api is None:
            self._not_found(request)
            return
        request.api = api
        body = self._parse(request, api)
        if body is None:
            return
        if not self.fake._authorised(api, request):
            self._send_error(request, api, ErrorReply.unauthorized())
            return
        reply = request.reply = self.fake._answer(exchange_of(api, body))
        if isinstance(reply, ErrorReply):
            self._send_error(request, api, reply)
            return
        session = (request.header("x-claude-code-session-id") or body.get("prompt_cache_key")
                   or "default")  # fmt: skip
        prompt = prompt_bytes(api, body)
        usage = request.usage = self.fake.cache.use(f"{api}:{session}", api, prompt)
        model = str(body.get("model") or "fake-model")
        if body.get("stream") is True:
            self._stream(request, api, reply, body, model, usage)
        else:
            self._send_json(request, 200, _whole(api, reply, body, model, usage))

    # request side --------------------------------------------------------------------------

    def _receive(self) -> RecordedRequest:
        if (self.headers.get("transfer-encoding") or "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = RecordedRequest(self.command, self.path, list(self.headers.items()), body,
                                  time.perf_counter())  # fmt: skip
        self.fake._record(request)
        return request

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _parse(self, request: RecordedRequest, api: Api) -> dict[str, Any] | None:
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        self._send_error(request, api, ErrorReply(400, "The request body is not valid JSON."))
        return None

    # response side -------------------------------------------------------------------------

    def _request_id_header(self, api: Api) -> tuple[str, str]:
        return (
            ("request-id", new_id("req_"))
            if api == "anthropic"
            else ("x-request-id", new_id("req_"))
        )

    def _send_json(
        self,
        request: RecordedRequest,
        status: int,
        payload: dict[str, Any],
        headers: list[tuple[str, str]] | None = None,
        outcome: str = "completed",
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers or []:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            request.outcome = outcome
        except OSError:
            request.outcome = "disconnected"
            self.close_connection = True
        request.done.set()

    def _send_error(self, request: RecordedRequest, api: Api, error: ErrorReply) -> None:
        request_id = new_id("req_")
        if api == "anthropic":
            body = error.anthropic_body(request_id)
            headers = [("request-id", request_id), *error.anthropic_headers()]
        else:
            body = error.openai_body()
            headers = [("x-request-id", request_id), *error.openai_headers()]
        self._send_json(request, error.status, body, headers, outcome="error")

    def _not_found(self, request: RecordedRequest) -> None:
        body = {"type": "error", "error": {"type": "not_found_error",
                                           "message": f"Not found: {request.route}"}}  # fmt: skip
        self._send_json(request, 404, body, outcome="error")

    def _stream(
        self,
        request: RecordedRequest,
        api: Api,
        reply: Reply,
        body: dict[str, Any],
        model: str,
        usage: CacheUsage,
    ) -> None:
        chars = self.fake.chunk_chars
        if api == "anthropic":
            frames = [_sse(e) for e in anthropic_wire.events(reply, model, usage, chars)]
        elif api == "chat":
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            events = openai_wire.chat_chunks(reply, model, usage, chars, include)
            frames = [_sse(e) for e in events] + [b"data: [DONE]\n\n"]
        else:
            events = openai_wire.response_events(reply, body, model, usage, chars)
            frames = [_sse(e) for e in events]
        if reply.stream_error is not None or reply.cut:
            frames = frames[: reply.fault_after]
        if reply.stream_error is not None:
            frames.append(_sse(reply.stream_error.stream_event(api, len(frames))))
        ttft = self.fake.ttft if reply.ttft is None else reply.ttft
        delay = self.fake.chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        try:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream; charset=utf-8")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.send_header(*self._request_id_header(api))
            self.end_headers()
            self.wfile.flush()
            for index, frame in enumerate(frames):
                pause = ttft if index == 0 else delay
                if pause:
                    time.sleep(pause)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
                request.sent_at.append(time.perf_counter())
            if reply.cut:
                request.outcome, self.close_connection = "cut", True
            else:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                request.outcome = "error" if reply.stream_error else "completed"
        except OSError:
            request.outcome = "disconnected"
            self.close_connection = True
        request.done.set()


def _sse(event: tuple[str | None, dict[str, Any]]) -> bytes:
    name, data = event
    line = b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"
    return (b"event: " + name.encode() + b"\n" + line) if name else line


def _whole(api: Api, reply: Reply, body: dict[str, Any], model: str, usage: CacheUsage) -> Any:
    if api == "anthropic":
        return anthropic_wire.message(reply, model, usage)
    if api == "chat":
        return openai_wire.chat_completion(reply, model, usage)
    return openai_wire.response(reply, body, model, usage)
