"""Provider errors pass through as sent, an unreachable provider is a 502 in its own shape,
a client that leaves cancels the upstream request, and the gateway token guards the proxy."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.fake_provider import ErrorReply, FakeProvider, Reply
from tests.integration.helpers import metric, metric_reaches
from tests.processes import Sidecar, free_port

TOKEN = "gateway-token-123"
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def guarded(provider: FakeProvider) -> Iterator[Sidecar]:
    """A gateway with a token, whose OpenAI upstream is a port nobody listens on."""
    env = {
        "HEADROOM_ANTHROPIC_API_URL": provider.url,
        "HEADROOM_PROXY_TOKEN": TOKEN,
        "HEADROOM_OPENAI_API_URL": f"http://127.0.0.1:{free_port()}",
    }
    with Sidecar(env) as sidecar:
        yield sidecar


@pytest.mark.parametrize(
    ("error", "exception"),
    [
        (ErrorReply.bad_request(), anthropic.BadRequestError),
        (ErrorReply.unauthorized(), anthropic.AuthenticationError),
        (ErrorReply.rate_limited(retry_after=7), anthropic.RateLimitError),
        (ErrorReply.overloaded(), anthropic.InternalServerError),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_errors_reach_the_client_as_sent(
    provider: FakeProvider,
    claude: anthropic.Anthropic,
    error: ErrorReply,
    exception: type[Exception],
    stream: bool,
) -> None:
    provider.enqueue(error)
    with pytest.raises(exception) as raised:
        if stream:
            with claude.messages.stream(model="m", max_tokens=8, messages=USER) as events:
                list(events)
        else:
            claude.messages.create(model="m", max_tokens=8, messages=USER)
    response = raised.value.response  # type: ignore[attr-defined]
    assert response.status_code == error.status
    body = response.json()
    assert body["error"]["message"] == error.message and body["type"] == "error"
    assert response.headers["request-id"].startswith("req_")
    if error.retry_after is not None:
        assert response.headers["retry-after"] == "7"
        assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"


def test_openai_rate_limit_passes_with_its_headers(
    provider: FakeProvider, gpt: openai.OpenAI
) -> None:
    provider.enqueue(ErrorReply.rate_limited(retry_after=3))
    with pytest.raises(openai.RateLimitError) as raised:
        gpt.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    headers = raised.value.response.headers
    assert headers["retry-after"] == "3" and headers["x-ratelimit-remaining-requests"] == "0"
    assert raised.value.code == "rate_limit_exceeded"


def test_unreachable_provider_is_a_502_in_its_shape_and_ready_stays_up(
    guarded: Sidecar,
) -> None:
    client = openai.OpenAI(
        base_url=guarded.url + "/v1",
        api_key="sk-test",
        max_retries=0,
        default_headers={"X-Headroom-Proxy-Token": TOKEN},
    )
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    client.close()
    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_unreachable"
    for path in ("/ready", "/readyz"):
        ready = httpx.get(guarded.url + path)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_the_gateway_token_is_only_x_headroom_proxy_token_and_never_goes_upstream(
    provider: FakeProvider, guarded: Sidecar
) -> None:
    url = guarded.url + "/v1/messages"
    body = {"model": "m", "max_tokens": 8, "messages": USER}
    missing = httpx.post(url, json=body, headers={"x-api-key": "sk-ant"})
    as_bearer = httpx.post(url, json=body, headers={"authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == as_bearer.status_code == 401
    assert missing.json()["error"]["type"] == "unauthorized"
    assert provider.generations() == []
    provider.model = lambda exchange: Reply.say("through")
    with anthropic.Anthropic(
        base_url=guarded.url,
        auth_token="sk-ant-provider",
        max_retries=0,
        default_headers={"X-Headroom-Proxy-Token": TOKEN},
    ) as client:
        message = client.messages.create(model="m", max_tokens=8, messages=USER)
    assert message.content[0].text == "through"  # type: ignore[union-attr]
    [sent] = provider.generations()
    assert sent.header("authorization") == "Bearer sk-ant-provider"
    assert sent.header("x-headroom-proxy-token") is None
    assert TOKEN not in json.dumps(sent.headers)


def test_client_disconnect_cancels_the_upstream_request(
    provider: FakeProvider, gateway: Sidecar, tenant: str
) -> None:
    gone = 'route="messages",status="499"'
    with httpx.Client() as client:
        try:
            left_before = metric(client, gateway.url, "headroom_proxy_requests_total", gone)
        except KeyError:  # a label value appears with its first sample
            left_before = 0.0
    provider.enqueue(Reply(text="word " * 400, chunk_delay=0.02))  # ~125 events, ~2.5 s
    body = {"model": "m", "max_tokens": 64, "stream": True, "messages": USER}
    with httpx.stream(
        "POST",
        gateway.url + "/v1/messages",
        json=body,
        headers={"x-api-key": "k", "x-headroom-user-id": tenant},
    ) as response:
        received = b""
        for chunk in response.iter_raw():
            received += chunk
            if received.count(b"text_delta") >= 3:
                break
    assert provider.wait_for(lambda requests: requests[0].outcome == "disconnected", 15.0)
    [request] = provider.requests
    assert len(request.sent_at) < 60, "the provider stopped well before the end"
    with httpx.Client() as client:  # the gateway counts the 499 just after closing upstream
        total = "headroom_proxy_requests_total"
        assert metric_reaches(client, gateway.url, total, gone, left_before + 1) == left_before + 1
        assert metric_reaches(client, gateway.url, "headroom_proxy_open_streams", "", 0) == 0


def test_a_body_the_core_refuses_is_forwarded_unchanged(
    provider: FakeProvider, gateway: Sidecar, tenant: str
) -> None:
    raw = b'{"model": "m",  "messages": [{"role": "narrator", "content": "x"}], "max_tokens": 8}'
    response = httpx.post(
        gateway.url + "/v1/messages",
        content=raw,
        headers={
            "x-api-key": "k",
            "content-type": "application/json",
            "x-headroom-user-id": tenant,
        },
    )
    assert response.status_code == 200
    # A lone surrogate: valid JSON with no UTF-8 form. The gateway keeps it as the escape it
    # came as (never a 5xx), so the request still goes upstream with its system prompt intact.
    # (The fake provider itself fails on it and drops the connection: the proxy says 502.)
    surrogate = (
        b'{"model": "m", "system": "\\ud800", "messages": [{"role": "user", "content": "hi"}]}'
    )
    httpx.post(gateway.url + "/v1/messages", content=surrogate,
               headers={"x-api-key": "k", "x-headroom-user-id": tenant})  # fmt: skip
    first, second = provider.generations()
    assert first.body == raw
    assert b'"system":"\\ud800"' in second.body.replace(b" ", b"")
    not_json = b"{not json"
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        content=not_json,
        headers={"authorization": "Bearer k"},
    )
    assert response.status_code == 400, "the provider's own answer"
    assert provider.requests[-1].body == not_json
    assert len(provider.requests) == 3


def test_a_client_gone_before_the_first_byte_still_releases_the_upstream_request(
    provider: FakeProvider, gateway: Sidecar, tenant: str
) -> None:
    provider.enqueue(Reply(text="late", ttft=1.5))
    body = {"model": "m", "max_tokens": 64, "stream": True, "messages": USER}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gateway.url + "/v1/messages", json=body, timeout=httpx.Timeout(5, read=0.3),
                   headers={"x-api-key": "k", "x-headroom-user-id": tenant})  # fmt: skip
    assert provider.wait_for(lambda requests: requests[0].outcome == "disconnected", 15.0)
    with httpx.Client() as client:
        assert metric_reaches(client, gateway.url, "headroom_proxy_open_streams", "", 0) == 0
