"""The central policy applies to the transparent proxy as to /v1/compress: a killed team's
body reaches the provider byte for byte as the client sent it, other teams' bodies are
compressed, and a team in `default` mode gets no retrieve tool or markers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests import corpus
from tests.fake_provider import FakeProvider
from tests.integration.http.test_policy_replicas import configmap
from tests.processes import Sidecar

pytestmark = pytest.mark.integration
TOKEN = "proxy-policy-token"
POLICY = b"""teams:
  frozen: {kill_switch: true}
  plain: {mode: default}
"""


@pytest.fixture(scope="module")
def gateway(provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    mount = configmap(tmp_path_factory.mktemp("policy"), POLICY)
    env = {"HEADROOM_ANTHROPIC_API_URL": provider.url, "HEADROOM_PROXY_TOKEN": TOKEN,
           "HEADROOM_POLICY_FILE": str(mount)}  # fmt: skip
    with Sidecar(env) as sidecar:
        yield sidecar


def send(gateway: Sidecar, provider: FakeProvider, team: str) -> tuple[bytes, bytes]:
    """(the body the client sent, the first body the provider received for it); a retrieve
    round the proxy runs itself would come after."""
    seen = len(provider.requests)
    messages = [
        {"role": "user", "content": "what is running?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash",
                                           "input": {"command": "kubectl get pods -o json"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": corpus.kubectl_pods_json(80)}]},
        {"role": "assistant", "content": "One pod is crash-looping."},
        {"role": "user", "content": "Which one?"},
    ]  # fmt: skip
    raw = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": messages})
    response = httpx.post(f"{gateway.url}/v1/messages", content=raw, timeout=60, headers={
        "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01",
        "content-type": "application/json", "x-headroom-proxy-token": TOKEN,
        "x-headroom-team": team})  # fmt: skip
    assert response.status_code == 200, response.text
    return raw.encode(), provider.requests[seen].body


def test_the_policy_decides_what_the_provider_receives(
    gateway: Sidecar, provider: FakeProvider
) -> None:
    sent, upstream = send(gateway, provider, "frozen")
    assert upstream == sent  # the kill switch: as the client sent it

    sent, upstream = send(gateway, provider, "other")  # the proxy's default: ccr, retrieve loop
    assert len(upstream) < 0.5 * len(sent)
    assert b"headroom_retrieve" in upstream and b"Retrieve original" in upstream

    sent, upstream = send(gateway, provider, "plain")  # the team's mode: marker-free
    assert len(upstream) < 0.5 * len(sent)
    assert b"headroom_retrieve" not in upstream and b"Retrieve original" not in upstream
