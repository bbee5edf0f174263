"""The ledger hook: one record per proxied request, with what the provider reported.

The gateway runs in process here (uvicorn on a free loopback port) so the test can hand the
proxy its own recorder, as the usage ledger will."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
import uvicorn
from fastapi import FastAPI

from adapters.bootstrap import bootstrap
from adapters.proxy.ledger import ProxyRecord
from adapters.proxy.routes import proxy_router
from adapters.settings import Settings
from tests import corpus
from tests.fake_provider import ErrorReply, FakeProvider, Reply
from tests.processes import free_port


class ListRecorder:
    def __init__(self) -> None:
        self.records: list[ProxyRecord] = []

    def record(self, record: ProxyRecord) -> None:
        self.records.append(record)


@pytest.fixture
def served(provider: FakeProvider, tmp_path: Path) -> Iterator[tuple[str, ListRecorder]]:
    settings = Settings(anthropic_api_url=provider.url, openai_api_url=provider.url,
                        data_dir=tmp_path, tag_allowlist=["ticket"])  # fmt: skip
    services = bootstrap(settings)
    services.warm()
    recorder = ListRecorder()
    app = FastAPI()
    app.include_router(proxy_router(services, recorder))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", recorder
    finally:
        server.should_exit = True
        thread.join(10)
        services.executor.shutdown(wait=False)


def test_one_record_per_request_with_provider_usage(
    provider: FakeProvider, served: tuple[str, ListRecorder]
) -> None:
    url, recorder = served
    provider.model = lambda exchange: Reply.say("ok")
    history = [
        {"role": "user", "content": "Why?"},
        *corpus.tool_turn_anthropic("toolu_1", "Bash", corpus.kubectl_pods_json(40)),
    ]
    claude = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)
    with claude.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=8,
        messages=history,
        extra_headers={"X-Claude-Code-Session-Id": "s-1"},
    ) as stream:
        stream.get_final_message()
    gpt = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
    gpt.chat.completions.create(
        model="gpt-4o", prompt_cache_key="thread-9", messages=[{"role": "user", "content": "hi"}]
    )
    provider.enqueue(ErrorReply.rate_limited())
    with pytest.raises(openai.RateLimitError):
        gpt.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert provider.wait_for(lambda requests: len(requests) == 3)
    deadline = time.monotonic() + 5
    while len(recorder.records) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    claude.close()
    gpt.close()
    streamed, chat, limited = recorder.records
    first = provider.generations()[0].usage
    assert first is not None
    assert (streamed.route, streamed.model, streamed.status) == (
        "messages",
        "claude-sonnet-4-5",
        200,
    )
    assert streamed.stream and streamed.session_id == "s-1"
    assert streamed.tokens_before > 3 * streamed.tokens_after > 0
    assert streamed.usage.input == first.input_tokens and streamed.usage.output > 0
    assert streamed.tags.client == "anthropic-python"
    assert streamed.latency_seconds > 0 and streamed.outcome == "compressed"
    assert (chat.route, chat.status, chat.session_id) == ("chat_completions", 200, "thread-9")
    assert chat.tags.client == "openai-python" and chat.usage.input > 0
    assert (limited.route, limited.status) == ("chat_completions", 429)


def test_the_record_carries_the_tags_a_compress_row_would(
    provider: FakeProvider, served: tuple[str, ListRecorder]
) -> None:
    """A trusted caller (loopback, no identity resolution) names its team and the operator's
    allow-listed tags by header, as on /v1/compress; tags nobody allowed are dropped."""
    url, recorder = served
    provider.model = lambda exchange: Reply.say("ok")
    tags = {"x-headroom-team": "payments", "x-headroom-tag-ticket": "OPS-7",
            "x-headroom-tag-secret": "not-allowed", "user-agent": "claude-cli/2.0.14"}  # fmt: skip
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude:
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=8, extra_headers=tags,
                               messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    deadline = time.monotonic() + 5
    while not recorder.records and time.monotonic() < deadline:
        time.sleep(0.01)
    (record,) = recorder.records
    assert (record.tags.team, record.tags.route, record.tags.client) == (
        "payments", "proxy", "claude-cli")  # fmt: skip
    assert dict(record.tags.extra) == {"ticket": "OPS-7"}
